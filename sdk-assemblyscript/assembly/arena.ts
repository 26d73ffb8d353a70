// Per-call arena on top of AssemblyScript's stub runtime (a bump allocator that never frees).
//
// Everything allocated while a hook runs (the host's arguments, the plugin's objects, the
// result) is dropped at once when the host calls the hook's cabi_post_* function: the bump
// pointer goes back to a mark taken at the end of `configure`. What `configure` and module
// start-up allocate stays. So an instance called millions of times keeps a flat memory
// high-water mark, with no GC and no per-object frees.
//
// The stub keeps its bump offset private; it does rewind when the *last* block is freed. We
// use that: a zero-size marker block sits at the mark; to reset, we stretch the marker's size
// header up to the current top and free it, which moves the offset back to the marker.

const BLOCK_OVERHEAD: usize = 4; // the stub's block header: one u32 payload size (mmInfo)

let marker: usize = 0;

/** Everything allocated so far survives resets (called when configure ends). */
export function arenaMark(): void {
  marker = heap.alloc(0);
}

export function arenaHasMark(): bool {
  return marker != 0;
}

/** Frees everything allocated since the mark. */
export function arenaReset(): void {
  if (marker == 0) return;
  const top = heap.alloc(0);
  const end = top + <usize>load<u32>(top - BLOCK_OVERHEAD);
  store<u32>(marker - BLOCK_OVERHEAD, <u32>(end - marker));
  heap.free(marker); // the marker is now the last block: the stub rewinds to it
  marker = heap.alloc(0); // same address again
}

// Call state, so that a host that skips a cabi_post_* call still does not leak.
let inCall = false;
let resultPending = false;

/** An export starts. A result left over from a previous call was never post-returned. */
export function enterCall(): void {
  if (resultPending && !inCall) arenaReset();
  if (!arenaHasMark()) arenaMark(); // no configure yet: keep what exists, reset from here
  resultPending = false;
  inCall = true;
}

export function leaveCall(): void {
  inCall = false;
  resultPending = true;
}

/** The host finished reading the result. */
export function postReturn(): void {
  resultPending = false;
  arenaReset();
}

/** cabi_realloc: the host allocates arguments for the next call, or results of an import. */
export function realloc(oldPtr: usize, oldSize: usize, align: usize, newSize: usize): usize {
  // Arguments for a new call while the last result was never post-returned: drop that first.
  if (resultPending && !inCall) {
    resultPending = false;
    arenaReset();
  }
  if (align > 16) unreachable(); // objects are 16-aligned; praxis types need at most 4
  // Every host allocation is shaped as an AssemblyScript ArrayBuffer (object header before it),
  // so a body the host hands in can be wrapped as a Uint8Array without a copy (abi.ts liftBytes).
  if (oldPtr == 0) return changetype<usize>(__new(newSize, idof<ArrayBuffer>()));
  return changetype<usize>(__renew(oldPtr, newSize));
}
