import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { QueueAdmin } from '@webhooks/queue';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { forgetBuild } from '../scripts/build-stamp.js';
import { freePort } from './helpers/free-port.js';
import { testTopology } from './helpers/pipeline.js';
import { type ServiceProcess, startProcess } from './helpers/service-process.js';
import { createTestDatabase, type TestDatabase } from './helpers/test-database.js';

// `pnpm start`, `pnpm start:ingest` and `pnpm start:consumer` as a person runs them, real
// services against the real broker and database: started at the same moment on a checkout that
// needs building, and stopped with Ctrl-C (SIGINT to the terminal's whole foreground group).

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** Longest a start may take to answer /readyz, building included (a slow, shared machine). */
const READY_WITHIN_MS = 150_000;
const STOPPED_WITHIN_MS = 30_000;

const topology = testTopology();
let database: TestDatabase;
const started: ServiceProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
});

afterEach(() => {
  for (const command of started.splice(0)) killEverything(command);
});

afterAll(async () => {
  const admin = await QueueAdmin.connect(inject('amqpUrl'));
  await admin.deleteTopology(topology).catch(() => {});
  await admin.close();
  await database?.drop();
});

/** `pnpm <script>` in a process group of its own, as a terminal runs a command. */
function pnpm(script: string, env: Record<string, string> = {}): ServiceProcess {
  const command = startProcess('pnpm', [script], {
    cwd: ROOT,
    env: {
      AMQP_URL: inject('amqpUrl'),
      DATABASE_URL: database.url,
      EXCHANGE_NAME: topology.exchange,
      QUEUE_NAME: topology.queue,
      QUEUE_TYPE: topology.queueType,
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      // Not the shared default events exchange.
      EVENTS_EXCHANGE: '',
      ...env,
    },
    processGroup: true,
  });
  started.push(command);
  return command;
}

/** Ctrl-C: SIGINT to the command's whole process group. */
function pressCtrlC(command: ServiceProcess): void {
  process.kill(-(command.child.pid ?? 0), 'SIGINT');
}

/** The pids the launcher reports for the services it started (each leads its own group). */
function servicePids(command: ServiceProcess): number[] {
  return [...command.output().matchAll(/\[start\] \S+ started, pid (\d+)/g)].map((m) =>
    Number(m[1]),
  );
}

/** Whatever a command left running, its own group and its services' groups. */
function killEverything(command: ServiceProcess): void {
  for (const pid of [command.child.pid ?? 0, ...servicePids(command)]) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

async function answersReady(port: number): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/readyz`, {
      signal: AbortSignal.timeout(2_000),
    });
    return response.ok;
  } catch {
    return false;
  }
}

/** Until every port answers /readyz, one of the commands ends, or the deadline. */
async function untilReady(commands: ServiceProcess[], ports: number[]): Promise<boolean> {
  const deadline = Date.now() + READY_WITHIN_MS;
  let anyEnded = false;
  for (const command of commands) {
    command.exited.then(() => {
      anyEnded = true;
    });
  }
  for (;;) {
    if ((await Promise.all(ports.map(answersReady))).every(Boolean)) return true;
    if (anyEnded || Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function exitedWithin(command: ServiceProcess, timeoutMs: number): Promise<number | string> {
  return Promise.race([
    command.exited,
    new Promise<string>((resolve) =>
      setTimeout(() => resolve(`still running after ${timeoutMs} ms`), timeoutMs).unref(),
    ),
  ]);
}

/**
 * Linux only: watches this checkout's `tsc` processes (one per package built) and records the
 * package folders where two ran at the same time, i.e. two builds writing the same dist/, and
 * those built more than once, i.e. a build that may rewrite dist/ while a service loads it.
 */
function watchBuilds(): { stop(): { built: string[]; overlapping: string[]; repeated: string[] } } {
  const overlapping = new Set<string>();
  const buildsOf = new Map<string, Set<string>>();
  const timer = setInterval(() => {
    const folders: string[] = [];
    for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        const isBuild =
          argv.some((arg) => /[\\/]typescript[\\/]bin[\\/]tsc$/.test(arg)) &&
          argv.includes('tsconfig.build.json');
        const cwd = isBuild ? readlinkSync(`/proc/${pid}/cwd`) : '';
        if (!cwd.startsWith(ROOT)) continue;
        const folder = path.relative(ROOT, cwd);
        folders.push(folder);
        buildsOf.set(folder, (buildsOf.get(folder) ?? new Set()).add(pid));
      } catch {
        // The process ended while being looked at.
      }
    }
    for (const folder of folders) {
      if (folders.indexOf(folder) !== folders.lastIndexOf(folder)) overlapping.add(folder);
    }
  }, 50);
  return {
    stop: () => {
      clearInterval(timer);
      const repeated = [...buildsOf].filter(([, pids]) => pids.size > 1).map(([f]) => f);
      return { built: [...buildsOf.keys()], overlapping: [...overlapping], repeated };
    },
  };
}

describe('pnpm start:ingest and pnpm start:consumer started at the same moment', () => {
  const rounds = 3;

  it(
    `both serve and stop cleanly, ${rounds} times in a row, on a checkout whose build is out of date`,
    async () => {
      const results = [];
      for (let round = 1; round <= rounds; round += 1) {
        // The ingest API's build (which the consumer also loads) is due again, as after an edit.
        await forgetBuild(path.join(ROOT, 'services', 'ingest-api'));
        const ports = [await freePort(), await freePort()];
        const builds = process.platform === 'linux' ? watchBuilds() : undefined;
        const commands = [
          pnpm('start:ingest', { PORT: String(ports[0]) }),
          pnpm('start:consumer', { PORT: String(ports[1]) }),
        ];
        const ready = await untilReady(commands, ports);
        const seen = builds?.stop();
        for (const command of commands) {
          if (command.child.exitCode === null) pressCtrlC(command);
        }
        const exits = await Promise.all(commands.map((c) => exitedWithin(c, STOPPED_WITHIN_MS)));
        const output = commands.map((c) => c.output()).join('\n');
        const result = {
          round,
          ready,
          exits,
          // Built once (the test's premise), one build at a time, and none after the other
          // start's service began loading dist/.
          ingestApiBuilt: seen?.built.includes(path.join('services', 'ingest-api')),
          overlappingBuilds: seen?.overlapping,
          packagesBuiltTwice: seen?.repeated,
          errors: output.split('\n').filter((line) => /Error\b|ERR_PNPM|ELIFECYCLE/.test(line)),
        };
        results.push(result);
        for (const command of started.splice(0)) killEverything(command);
        if (!ready || exits.some((code) => code !== 0)) break;
      }
      expect(results).toEqual(
        Array.from({ length: rounds }, (_, i) => ({
          round: i + 1,
          ready: true,
          exits: [0, 0],
          ...(process.platform === 'linux'
            ? { ingestApiBuilt: true, overlappingBuilds: [], packagesBuiltTwice: [] }
            : {}),
          errors: [],
        })),
      );
    },
    rounds * (READY_WITHIN_MS + STOPPED_WITHIN_MS) + 30_000,
  );
});

async function portTaken(port: number): Promise<boolean> {
  const server = net.createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(true));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(false)));
  });
}

// `pnpm start` runs both services on their default ports (8080 and 8082): a machine where
// something else holds one cannot run it, and says so instead.
const DEFAULT_PORTS = [8080, 8082];
const taken = (
  await Promise.all(DEFAULT_PORTS.map(async (port) => ((await portTaken(port)) ? port : 0)))
).filter((port) => port !== 0);

describe.skipIf(taken.length > 0)(
  `pnpm start${taken.length > 0 ? ` (skipped: port ${taken.join(' and ')} in use, which its services need)` : ''}`,
  () => {
    it(
      'stops both services on Ctrl-C and exits 0, with no error report',
      async () => {
        const command = pnpm('start');
        expect(await untilReady([command], DEFAULT_PORTS), command.output()).toBe(true);
        pressCtrlC(command);
        expect(await exitedWithin(command, STOPPED_WITHIN_MS), command.output()).toBe(0);
        const output = command.output();
        expect(output).not.toMatch(/ERR_PNPM|ELIFECYCLE|Command failed/);
        expect(output.match(/shutdown complete/g)).toHaveLength(2);
        // Each service was asked once: a second signal would have made it exit at once, with 1.
        expect(output).not.toContain('second signal');
      },
      READY_WITHIN_MS + STOPPED_WITHIN_MS + 10_000,
    );

    it(
      'when one service crashes, stops the other and exits non-zero',
      async () => {
        const command = pnpm('start');
        expect(await untilReady([command], DEFAULT_PORTS), command.output()).toBe(true);
        // pino's own fields name the process of each log line.
        const consumerPid = Number(
          /"pid":(\d+),[^\n]*"name":"consumer"/.exec(command.output())?.[1],
        );
        expect(consumerPid, command.output()).toBeGreaterThan(0);
        process.kill(consumerPid, 'SIGKILL');
        const code = await exitedWithin(command, STOPPED_WITHIN_MS);
        const output = command.output();
        expect(typeof code === 'number' && code !== 0, `exit ${code}: ${output}`).toBe(true);
        // The ingest API was stopped gracefully, not left behind holding its port.
        expect(output.match(/shutdown complete/g), output).toHaveLength(1);
        expect(await portTaken(DEFAULT_PORTS[0] ?? 0), output).toBe(false);
      },
      READY_WITHIN_MS + STOPPED_WITHIN_MS + 10_000,
    );
  },
);
