/**
 * A gateway started through `npm start` or `npx praxis-wasm run` runs as npm -> sh -> node. npm
 * hands a SIGTERM to the shell, the shell dies without passing it on, and the gateway would be
 * left holding its port with no parent. So, when npm (or another package manager) launched this
 * process, losing the parent is treated as the SIGTERM it was meant to be: the usual graceful
 * shutdown runs. A process started any other way (a service manager, `nohup ... &`) is left alone:
 * outliving its parent is what it was asked to do.
 */

/** How often the parent is checked: a shut-down wrapper is noticed within about this long. */
const CHECK_MS = 250;

/** Set by npm, pnpm and yarn for every script and `npx`/`npm exec` they run. */
export function launchedByPackageManager(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.npm_lifecycle_event !== undefined;
}

/** Watches the parent; returns a function that stops watching. */
export function stopWithLauncher(): () => void {
  if (!launchedByPackageManager()) return () => {};
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    // Through the signal, so whichever shutdown is installed (one gateway, or a cluster's primary) runs.
    process.kill(process.pid, 'SIGTERM');
  }, CHECK_MS);
  timer.unref();
  return () => clearInterval(timer);
}
