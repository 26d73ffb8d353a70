// JSPI (WebAssembly JavaScript Promise Integration), unflagged from Node 24 / V8 13.6.
// TypeScript's DOM lib does not describe it yet.
declare global {
  namespace WebAssembly {
    class Suspending {
      constructor(fn: (...args: never[]) => Promise<unknown>);
    }
    function promising<F extends (...args: never[]) => unknown>(fn: F): (...args: Parameters<F>) => Promise<ReturnType<F>>;
  }
}
export {};
