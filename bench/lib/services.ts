import { readFileSync } from 'node:fs';
import {
  assertListensOn,
  freePort,
  ROOT,
  type Running,
  startNode,
  waitUntilOk,
} from './processes.js';

/** A service process and the port it was started on (checked to be its own). */
export interface Service {
  running: Running;
  port: number;
  url(path: string): string;
}

/** A directory under `services/`. */
export type ServiceDirectory = 'ingest-api' | 'consumer';

/**
 * The Node flags of a service's `start` script (`node <flags> dist/main.js`), so the bench runs
 * the services as `pnpm start` and the images do.
 */
export function startFlags(service: ServiceDirectory): string[] {
  const manifest = JSON.parse(readFileSync(`${ROOT}services/${service}/package.json`, 'utf8')) as {
    scripts?: { start?: string };
  };
  const words = (manifest.scripts?.start ?? '').split(/\s+/);
  return words.slice(words.indexOf('node') + 1, words.indexOf('dist/main.js'));
}

export interface StartServiceOptions {
  /** What it is, for error messages ("ingest API"). */
  name: string;
  service: ServiceDirectory;
  /** Node flags before the `start` script's own (the CPU profile's). */
  leadingNodeFlags: string[];
  /** Node flags after the `start` script's own: for V8 the last occurrence of a flag wins. */
  extraNodeFlags: string[];
  /** The service's settings; `PORT` is added. */
  env: Record<string, string>;
}

/** Starts `node dist/main.js` of a built service on a free port, ready and owning that port. */
export async function startService(options: StartServiceOptions): Promise<Service> {
  const port = await freePort();
  const args = [
    ...options.leadingNodeFlags,
    ...startFlags(options.service),
    ...options.extraNodeFlags,
    `services/${options.service}/dist/main.js`,
  ];
  const running = startNode(options.name, args, { ...options.env, PORT: String(port) });
  const url = (path: string) => `http://127.0.0.1:${port}${path}`;
  try {
    await waitUntilOk(url('/readyz'));
    assertListensOn(running, port);
  } catch (err) {
    await running.stop();
    throw err;
  }
  return { running, port, url };
}
