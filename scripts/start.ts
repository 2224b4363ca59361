import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runServices, type StopSignal, serviceNames } from './run-services.js';
import { buildWorkspace, WorkspaceBuildError } from './workspace-build.js';

// `pnpm start [service...]`: builds what changed (one build at a time, however many starts
// run at once), then runs the services and waits for them. SIGINT/SIGTERM (Ctrl-C) stop them
// gracefully; the exit code is 0 when every one exited cleanly.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const log = (line: string) => console.error(`[start] ${line}`);

const known = serviceNames(ROOT);
const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !known.includes(name));
if (unknown.length > 0) {
  console.error(`[start] no such service: ${unknown.join(', ')} (services: ${known.join(', ')})`);
  process.exit(2);
}

// The first signal stops; repeats (a terminal signals the whole group and pnpm forwards it
// again) are absorbed here: each service bounds its own shutdown by SHUTDOWN_TIMEOUT_MS.
const stopping = new AbortController();
let stopSignal: StopSignal | undefined;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (stopSignal !== undefined) return;
    stopSignal = signal === 'SIGINT' ? 'SIGINT' : 'SIGTERM';
    stopping.abort(new Error(`stopped by ${signal}`));
  });
}
const exitOnStop = () => process.exit(128 + constants.signals[stopSignal ?? 'SIGTERM']);

try {
  await buildWorkspace({ root: ROOT, force: false, signal: stopping.signal, log });
} catch (err) {
  if (stopping.signal.aborted) exitOnStop();
  // A failed build has printed its errors already.
  console.error('[start]', err instanceof WorkspaceBuildError ? err.message : err);
  process.exit(1);
}
if (stopping.signal.aborted) exitOnStop();

const services = runServices({
  root: ROOT,
  services: requested.length > 0 ? requested : known,
  log,
});
stopping.signal.addEventListener('abort', () => services.stop(stopSignal ?? 'SIGTERM'));
// Services run in their own process groups: never leave them behind if this process ends early.
process.on('exit', () => services.stop('SIGTERM'));
process.exitCode = await services.exitCode;
