import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

export type StopSignal = 'SIGINT' | 'SIGTERM';

export interface RunServicesOptions {
  /** The repository root. */
  root: string;
  /** Folder names under services/, e.g. `ingest-api`. */
  services: readonly string[];
  /** One line for the person at the terminal. */
  log: (line: string) => void;
}

export interface RunningServices {
  /**
   * Asks every service still running to stop with `signal`. Each is asked once: a service
   * takes a second signal as "exit now, unfinished".
   */
  stop(signal: StopSignal): void;
  /** 0 once every service has exited with code 0, 1 once all have exited and one did not. */
  exitCode: Promise<number>;
}

/** The services that have a `start` script, by folder name. */
export function serviceNames(root: string): string[] {
  const dir = path.join(root, 'services');
  return readdirSync(dir)
    .filter((name) => startCommand(root, name) !== undefined)
    .sort();
}

/**
 * Runs each service's `start` script (`node <flags> dist/main.js` in its folder) as a child of
 * this process, in its own process group so that signals reach it only through `stop`: a
 * terminal's Ctrl-C goes to the whole foreground group, and pnpm forwards it once more, which a
 * service would otherwise receive two or three times. When one service exits unasked (a crash),
 * the others are stopped with SIGTERM.
 */
export function runServices(options: RunServicesOptions): RunningServices {
  const { root, services, log } = options;
  let stopping = false;
  const running = services.map((name) => {
    const command = startCommand(root, name);
    if (command === undefined) throw new Error(`services/${name} has no start script to run`);
    const child = spawn(process.execPath, command, {
      cwd: path.join(root, 'services', name),
      stdio: ['ignore', 'inherit', 'inherit'],
      detached: true,
    });
    if (child.pid !== undefined) log(`${name} started, pid ${child.pid}`);
    return { name, child, asked: false };
  });

  const stop = (signal: StopSignal) => {
    stopping = true;
    for (const service of running) {
      const { child } = service;
      if (service.asked || child.exitCode !== null || child.signalCode !== null) continue;
      service.asked = true;
      child.kill(signal);
    }
  };

  const exits = running.map(
    ({ name, child }) =>
      new Promise<boolean>((resolve) => {
        child.on('error', (err) => {
          log(`${name} could not be started: ${err.message}`);
          resolve(false);
          stop('SIGTERM');
        });
        child.on('exit', (code, signal) => {
          if (!stopping) log(`${name} exited (${code ?? signal}): stopping the other services`);
          else if (code !== 0) log(`${name} exited (${code ?? signal})`);
          resolve(code === 0);
          stop('SIGTERM');
        });
      }),
  );
  const exitCode = Promise.all(exits).then((clean) => (clean.every(Boolean) ? 0 : 1));
  return { stop, exitCode };
}

/** A service's `start` script as arguments to node; `undefined` when it has none. */
function startCommand(root: string, service: string): string[] | undefined {
  const manifestPath = path.join(root, 'services', service, 'package.json');
  if (!existsSync(manifestPath)) return undefined;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    scripts?: Record<string, string>;
  };
  const script = manifest.scripts?.start;
  if (script === undefined) return undefined;
  const [program, ...args] = script.trim().split(/\s+/);
  // Run without a shell, so the script must be a plain command line.
  if (program !== 'node' || args.some((arg) => /["'`$&|;<>()\\*?]/.test(arg))) {
    throw new Error(`services/${service}: the start script must be "node <args>": ${script}`);
  }
  return args;
}
