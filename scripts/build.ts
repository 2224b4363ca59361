import { fileURLToPath } from 'node:url';
import { buildWorkspace, WorkspaceBuildError } from './workspace-build.js';

// `pnpm build`: compiles every package to dist/, waiting first if another build of this
// checkout is running (a `pnpm start` building what changed, say), so that two builds never
// write the same dist/ at once.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const stopping = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => stopping.abort(new Error(`stopped by ${signal}`)));
}

try {
  await buildWorkspace({
    root: ROOT,
    force: true,
    signal: stopping.signal,
    log: (line) => console.error(`[build] ${line}`),
  });
} catch (err) {
  if (!stopping.signal.aborted) {
    // A failed build has printed its errors already.
    console.error('[build]', err instanceof WorkspaceBuildError ? err.message : err);
  }
  process.exitCode = 1;
}
