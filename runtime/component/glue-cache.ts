/**
 * The on-disk cache of jco's transpiled glue. The glue is JavaScript the gateway imports, so
 * whoever can write the cache can run code in the gateway. Hence:
 * - the cache lives in a private directory: created with mode 0700, and refused when another
 *   user owns it or group/others may write it (never a shared temp path);
 * - every file is recorded with its sha256 in the entry's manifest when written, and read back
 *   only when its bytes still match (the caller then uses exactly those bytes, never the file
 *   again, so nothing can swap it between the check and the use);
 * - every write is atomic (a fresh temp file, then rename), so a reader never sees half a file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';

const MANIFEST = 'manifest.json';
const FORMAT = 1;
/** Names a cached file may have: flat, no path separators, no dot-files (temp files start with a dot). */
const SAFE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/** `$XDG_CACHE_HOME/praxis-wasm` when that is an absolute path, else `~/.cache/praxis-wasm`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'praxis-wasm');
}

/** Creates `dir` (mode 0700) when missing; answers why it must not be used, or undefined when it may. */
export async function privateDirProblem(dir: string): Promise<string | undefined> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const st = await lstat(dir);
    if (!st.isDirectory()) return `${dir} is not a directory`;
    // No owners or permission bits to check on Windows.
    const uid = process.getuid?.();
    if (uid === undefined) return undefined;
    if (st.uid !== uid) return `${dir} is owned by uid ${st.uid}, not by this process (uid ${uid})`;
    if (st.mode & 0o022) return `${dir} is writable by group or others (mode ${(st.mode & 0o777).toString(8)}); make it 0700`;
    return undefined;
  } catch (err) {
    return `${dir} cannot be used: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

interface Manifest {
  format: number;
  /** What made the entry (tool version and post-processing): a different stamp is a miss. */
  stamp: string;
  files: Record<string, string>;
}

function parseManifest(text: string): Manifest | undefined {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!m || typeof m !== 'object') return undefined;
  const { format, stamp, files } = m as Record<string, unknown>;
  if (format !== FORMAT || typeof stamp !== 'string' || !files || typeof files !== 'object') return undefined;
  const entries = Object.entries(files as Record<string, unknown>);
  if (!entries.every(([name, hash]) => SAFE_NAME.test(name) && name !== MANIFEST && typeof hash === 'string' && /^[0-9a-f]{64}$/.test(hash))) return undefined;
  return { format, stamp, files: files as Record<string, string> };
}

/** A hit carries the checked bytes; a miss says why when an entry existed but was not usable. */
export type CacheRead = { hit: true; files: Map<string, Uint8Array> } | { hit: false; why?: string };

/** Reads the entry `key` of the cache at `root` (a directory `privateDirProblem` accepted). */
export async function readEntry(root: string, key: string, stamp: string): Promise<CacheRead> {
  const dir = join(root, key);
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { hit: false };
    return { hit: false, why: `its manifest cannot be read (${(err as NodeJS.ErrnoException).code})` };
  }
  const manifest = parseManifest(text);
  if (!manifest) return { hit: false, why: 'its manifest is malformed' };
  if (manifest.stamp !== stamp) return { hit: false };
  const files = new Map<string, Uint8Array>();
  for (const [name, hash] of Object.entries(manifest.files)) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(join(dir, name)));
    } catch (err) {
      return { hit: false, why: `${name} cannot be read (${(err as NodeJS.ErrnoException).code})` };
    }
    if (sha256(bytes) !== hash) return { hit: false, why: `${name} does not match the sha256 recorded when it was written` };
    files.set(name, bytes);
  }
  return { hit: true, files };
}

/** Writes `path` atomically: a fresh private temp file beside it, then rename over it. */
async function writeAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(tmp, bytes, { mode: 0o600, flag: 'wx' });
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

/**
 * Stores `files` as the entry `key`: each file first, the manifest (with their hashes) last, so
 * a concurrent reader sees either the old manifest (whose hashes then fail: a miss) or the new one.
 */
export async function writeEntry(root: string, key: string, stamp: string, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
  const dir = join(root, key);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const manifest: Manifest = { format: FORMAT, stamp, files: {} };
  for (const [name, bytes] of files) {
    if (!SAFE_NAME.test(name) || name === MANIFEST) throw new Error(`glue cache: refusing to store a file named ${JSON.stringify(name)}`);
    await writeAtomic(join(dir, name), bytes);
    manifest.files[name] = sha256(bytes);
  }
  await writeAtomic(join(dir, MANIFEST), `${JSON.stringify(manifest, null, 1)}\n`);
}
