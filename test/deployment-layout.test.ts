import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Database } from '@webhooks/db';
import { QueueAdmin, topologyFor } from '@webhooks/queue';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { environmentWithDefaults, readComposeFile } from './helpers/compose-file.js';
import { freePort } from './helpers/free-port.js';
import { assembleImage, type ImageLayout } from './helpers/image-layout.js';
import { runCommand } from './helpers/run-command.js';
import { type ServiceProcess, startProcess } from './helpers/service-process.js';
import { testLogger } from './helpers/test-logger.js';
import { uniqueName } from './helpers/test-names.js';
import { waitFor } from './helpers/wait-for.js';

// There is no Docker engine where the tests run, so the images are laid out the way their
// Dockerfiles say (build, `pnpm deploy`, COPY, ENV) and then run as compose runs them: the
// migrate job, then both services with `node dist/main.js`, against the real broker and
// database. Whatever the Dockerfiles or the compose file name must exist there.

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const { compose } = readComposeFile(path.join(ROOT, 'docker-compose.yml'));
const SERVICES = ['ingest-api', 'consumer'] as const;
type Service = (typeof SERVICES)[number];

const outDir = mkdtempSync(path.join(tmpdir(), 'webhook-images-'));
const images = {} as Record<Service, ImageLayout>;
const queue = uniqueName('test_image_queue');
const exchange = uniqueName('test_image_webhooks');
const databaseName = uniqueName('webhooks_image');
const running: ServiceProcess[] = [];

function databaseUrl(name: string): string {
  const url = new URL(inject('databaseUrl'));
  url.pathname = `/${name}`;
  return url.toString();
}

/** The variables compose gives a service, with no .env and nothing set. */
function composeEnvironment(service: string): Record<string, string> {
  const definition = compose.services[service];
  if (definition === undefined) throw new Error(`no compose service ${service}`);
  return environmentWithDefaults(definition);
}

/** The health check command of the image, or of the compose service, run as Docker would. */
function healthcheck(command: readonly string[], image: ImageLayout, port: number) {
  const [program = '', ...args] = command;
  return runCommand(program, args, {
    cwd: image.root,
    env: { PATH: process.env.PATH, ...image.env, PORT: String(port) },
    timeoutMs: 10_000,
  });
}

beforeAll(async () => {
  // One after the other: both builds write the shared packages' dist/.
  for (const service of SERVICES) {
    images[service] = await assembleImage({
      repository: ROOT,
      dockerfile: path.join(ROOT, 'services', service, 'Dockerfile'),
      outDir: path.join(outDir, service),
    });
  }
}, 480_000);

afterAll(async () => {
  for (const service of running) {
    if (service.child.exitCode === null) service.child.kill('SIGKILL');
  }
  const admin = await QueueAdmin.connect(inject('amqpUrl'));
  await admin
    .deleteTopology(
      topologyFor({ exchange, queue, retryDelaysMs: [1000, 2000, 4000], queueType: 'classic' }),
    )
    .catch(() => {});
  await admin.close();
  const server = new Database({
    connectionString: databaseUrl('postgres'),
    logger: testLogger(),
    maxConnections: 1,
    statementTimeoutMs: 30_000,
    applicationName: 'webhook-tests',
  });
  await server.query(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`);
  await server.close();
  rmSync(outDir, { recursive: true, force: true });
});

describe('the images, laid out as their Dockerfiles build them', () => {
  it.each(SERVICES)(
    '%s: holds its compiled entry point and production dependencies only',
    (service) => {
      const image = images[service];
      expect(image.command[0]).toBe('node');
      // `node [flags] <entry point>`
      const entry = image.command.at(-1) ?? '';
      expect(existsSync(path.join(image.root, entry))).toBe(true);
      // `pnpm start` runs the same file from the repository after the build.
      expect(existsSync(path.join(ROOT, 'services', service, entry))).toBe(true);

      const installed = readdirSync(path.join(image.root, 'node_modules/.pnpm'));
      for (const tool of ['typescript@', 'tsx@', 'vitest@', '@biomejs+', 'testcontainers@']) {
        expect(
          installed.filter((name) => name.startsWith(tool)),
          tool,
        ).toEqual([]);
      }
      // Only compiled JavaScript: no TypeScript sources in the service or its workspace packages.
      const workspacePackages = readdirSync(path.join(image.root, 'node_modules/@webhooks'));
      expect(workspacePackages.length).toBeGreaterThan(0);
      for (const dir of ['.', ...workspacePackages.map((p) => `node_modules/@webhooks/${p}`)]) {
        expect(readdirSync(path.join(image.root, dir)), dir).not.toContain('src');
      }
    },
  );

  it('migrate job: the consumer image applies migrations/, creating the database, and again is a no-op', async () => {
    const migrate = compose.services.migrate;
    const [program = '', ...args] = migrate?.command ?? [];
    const run = () =>
      runCommand(program, args, {
        cwd: images.consumer.root,
        env: {
          PATH: process.env.PATH,
          ...images.consumer.env,
          ...composeEnvironment('migrate'),
          DATABASE_URL: databaseUrl(databaseName),
        },
      });
    const first = await run();
    expect(first.code, first.output).toBe(0);
    expect(first.output).toContain('applied');
    const again = await run();
    expect(again.code, again.output).toBe(0);
    expect(again.output).toContain('database is up to date');
  });

  it('both services start with node dist/main.js, pass their health checks, store an event, keep a refused provider request, dead-letter a message that is not one, and the documented replay commands see both', async () => {
    // Against the database the migrate job made above, as compose orders them.
    const ports = { 'ingest-api': await freePort(), consumer: await freePort() };
    for (const service of SERVICES) {
      const image = images[service];
      const [program = '', ...args] = image.command;
      running.push(
        startProcess(program, args, {
          cwd: image.root,
          env: {
            ...image.env,
            ...composeEnvironment(service),
            // Where compose's network names differ from this machine's.
            AMQP_URL: inject('amqpUrl'),
            DATABASE_URL: databaseUrl(databaseName),
            HOST: '127.0.0.1',
            PORT: String(ports[service]),
            QUEUE_NAME: queue,
            EXCHANGE_NAME: exchange,
          },
        }),
      );
    }
    for (const service of SERVICES) {
      const image = images[service];
      await waitFor(
        `${service}'s image health check to pass`,
        async () => (await healthcheck(image.healthcheck, image, ports[service])).code === 0,
        { timeoutMs: 30_000, intervalMs: 250 },
      );
      const composeCheck = compose.services[service]?.healthcheck?.test?.slice(1) ?? [];
      const result = await healthcheck(composeCheck, image, ports[service]);
      expect(result.code, `${service}'s compose health check: ${result.output}`).toBe(0);
    }

    // The console's files ship in the image beside dist/.
    for (const file of [
      '/console',
      '/console/main.js',
      '/console/lib/json-text.js',
      '/console/screens/dead-letters.js',
      '/console/reasons.js',
    ]) {
      const res = await fetch(`http://127.0.0.1:${ports.consumer}${file}`);
      expect(res.status, file).toBe(200);
    }

    const post = (body: Record<string, unknown>) =>
      fetch(`http://127.0.0.1:${ports['ingest-api']}/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await post({ source: 'shop', type: 'order.paid', id: 'img-1' })).status).toBe(200);
    // A provider webhook from a source the API does not know: 404, and kept in the quarantine.
    const unknownSource = await fetch(`http://127.0.0.1:${ports['ingest-api']}/webhook/img-acme`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'order.paid', id: 'img-2' }),
    });
    expect(unknownSource.status).toBe(404);

    const db = new Database({
      connectionString: databaseUrl(databaseName),
      logger: testLogger(),
      maxConnections: 1,
      statementTimeoutMs: 30_000,
      applicationName: 'webhook-tests',
    });
    try {
      await waitFor('the event to be stored', async () => {
        const { rows } = await db.query<{ event_id: string }>(
          'SELECT event_id FROM webhook_events WHERE source = $1',
          ['shop'],
        );
        return rows.length === 1 && rows[0]?.event_id === 'img-1';
      });
      await waitFor('the refused request to be kept', async () => {
        const { rows } = await db.query('SELECT 1 FROM rejected_requests WHERE source = $1', [
          'img-acme',
        ]);
        return rows.length === 1;
      });
    } finally {
      await db.close();
    }
    // The dead letter of docs/operations.md ("Run with Docker"): a message published by hand
    // (Management UI, "Publish message" on the main queue) that is not an event.
    const admin = await QueueAdmin.connect(inject('amqpUrl'));
    try {
      await admin.publishRaw(queue, Buffer.from('{"hello":"world"}'), { messageId: 'by-hand' });
      const dead = await waitFor('the message in the dead-letter queue', async () => {
        const [message] = await admin.peek(`${queue}_dlq`, 1);
        return message;
      });
      expect(dead.properties.messageId).toBe('by-hand');
      expect(dead.headers['x-death-reason']).toBe('invalid_message');
    } finally {
      await admin.close();
    }

    // The runbook's replay commands, as `docker compose run … consumer` runs them in the image.
    const runbook = readFileSync(path.join(ROOT, 'docs', 'operations.md'), 'utf8');
    const replays = new Set(
      [
        ...runbook.matchAll(/docker compose run --rm --no-deps consumer (node \S*dlq-replay\.js)/g),
      ].map((match) => match[1] ?? ''),
    );
    expect(replays.size).toBeGreaterThan(0);
    for (const replay of replays) {
      const [program = '', ...args] = replay.split(' ');
      const dryRun = await runCommand(program, [...args, '--dry-run'], {
        cwd: images.consumer.root,
        env: {
          PATH: process.env.PATH,
          ...images.consumer.env,
          ...composeEnvironment('consumer'),
          AMQP_URL: inject('amqpUrl'),
          QUEUE_NAME: queue,
          EXCHANGE_NAME: exchange,
        },
      });
      expect(dryRun.code, dryRun.output).toBe(0);
      expect(dryRun.output).toContain('would move 1');
    }
    // The quarantine's replay verifies with @webhooks/providers, which the image must ship.
    const rejectedReplays = new Set(
      [
        ...runbook.matchAll(
          /docker compose run --rm --no-deps consumer (node \S*rejected-replay\.js)/g,
        ),
      ].map((match) => match[1] ?? ''),
    );
    expect(rejectedReplays.size).toBeGreaterThan(0);
    for (const replay of rejectedReplays) {
      const [program = '', ...args] = replay.split(' ');
      const dryRun = await runCommand(program, [...args, '--source', 'img-acme', '--dry-run'], {
        cwd: images.consumer.root,
        env: {
          PATH: process.env.PATH,
          ...images.consumer.env,
          ...composeEnvironment('consumer'),
          DATABASE_URL: databaseUrl(databaseName),
          // The source added since: the kept request now verifies (unsigned).
          WEBHOOK_ALLOW_UNKNOWN_SOURCES: 'true',
        },
      });
      expect(dryRun.code, dryRun.output).toBe(0);
      expect(dryRun.output).toContain('verified 1, still rejected 0, would publish 1');
    }

    for (const [i, service] of SERVICES.entries()) {
      running[i]?.child.kill('SIGTERM');
      expect(await running[i]?.exited, running[i]?.output()).toBe(0);
      const image = images[service];
      const after = await healthcheck(image.healthcheck, image, ports[service]);
      expect(after.code, `${service}'s health check fails once it has stopped`).not.toBe(0);
    }
  });
});
