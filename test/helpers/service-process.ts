import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ServiceProcess {
  readonly child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
}

/**
 * Runs a service's `main.ts` as its own process, exactly as `pnpm start:*` would but from the
 * TypeScript sources, with `env` added to a minimal environment. The consumer publishes to no
 * events exchange unless `env` names one (never to the shared default).
 */
export function startService(
  service: 'ingest-api' | 'consumer',
  env: Record<string, string>,
): ServiceProcess {
  const defaults = service === 'consumer' ? { EVENTS_EXCHANGE: '' } : {};
  return startProcess(
    process.execPath,
    ['--import', 'tsx', '--conditions=source', `services/${service}/src/main.ts`],
    { cwd: ROOT, env: { LOG_LEVEL: 'info', ...defaults, ...env } },
  );
}

/**
 * Runs a long-lived command with `env` added to a minimal environment (just `PATH`); with
 * `processGroup`, as the leader of a process group of its own, which `process.kill(-pid)`
 * signals as a whole, the way a terminal signals its foreground job.
 */
export function startProcess(
  command: string,
  args: readonly string[],
  options: { cwd: string; env: Record<string, string>; processGroup?: boolean },
): ServiceProcess {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.processGroup ?? false,
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  return { child, output: () => output, exited };
}
