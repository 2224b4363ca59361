import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnv } from '@webhooks/config';
import { describe, expect, it } from 'vitest';
import { MigrateConfig } from '../packages/db/src/bin/migrate-config.js';
import { ConsumerConfig } from '../services/consumer/src/config.js';
import { IngestConfig } from '../services/ingest-api/src/config.js';
import {
  type ComposeService,
  environmentWithDefaults,
  readComposeFile,
  variableReferences,
  withDefaults,
} from './helpers/compose-file.js';
import { dockerIgnoreMatcher } from './helpers/docker-ignore.js';
import {
  argsOf,
  execForm,
  parseCopy,
  parseEnvInstruction,
  readDockerfile,
} from './helpers/dockerfile.js';
import { settingNames } from './helpers/setting-names.js';

// What ops run and read (docker-compose.yml, the Dockerfiles, .env.example) must agree with
// the code: every path, script and variable they name has to exist, and every setting the
// services read has to be passed and documented with its real default.

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const { text: composeText, compose } = readComposeFile(path.join(ROOT, 'docker-compose.yml'));
const { text: clusterText, compose: cluster } = readComposeFile(
  path.join(ROOT, 'docker-compose.cluster.yml'),
);
const rootPackage = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  packageManager: string;
  scripts: Record<string, string>;
};

/** The settings schema of each container running the project's code. */
const SCHEMAS = { 'ingest-api': IngestConfig, consumer: ConsumerConfig, migrate: MigrateConfig };
type AppService = keyof typeof SCHEMAS;
const APP_SERVICES = Object.keys(SCHEMAS) as AppService[];

/**
 * Every RabbitMQ node reads the classic queue storage setting (deploy/rabbitmq/classic-queues.conf,
 * which the cluster fault test's nodes read too).
 */
const CLASSIC_QUEUES_MOUNT =
  './deploy/rabbitmq/classic-queues.conf:/etc/rabbitmq/conf.d/30-classic-queues.conf:ro';

/** Settings compose leaves to the image: they describe the container, not the deployment. */
const SET_BY_IMAGE = new Set(['HOST', 'PORT', 'MIGRATIONS_DIR']);

function service(name: string): ComposeService {
  const found = compose.services[name];
  if (found === undefined) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}

/**
 * `.env.example`: each `NAME=value`, and each `# NAME=value` (documented, left unset; or an
 * example beside the `NAME=value` line, which then wins).
 */
function readEnvExample(): Map<string, { value: string; commented: boolean }> {
  const entries = new Map<string, { value: string; commented: boolean }>();
  for (const line of readFileSync(path.join(ROOT, '.env.example'), 'utf8').split('\n')) {
    const match = /^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match === null) continue;
    const name = match[2] ?? '';
    const entry = { value: match[3] ?? '', commented: match[1] !== undefined };
    const earlier = entries.get(name);
    if (earlier !== undefined && !earlier.commented) {
      expect(entry.commented, `${name} is set twice in .env.example`).toBe(true);
      continue;
    }
    entries.set(name, entry);
  }
  return entries;
}

function allSettingNames(): Set<string> {
  return new Set(Object.values(SCHEMAS).flatMap((schema) => settingNames(schema)));
}

describe('docker-compose.yml', () => {
  it('is the Compose specification, without the obsolete version key', () => {
    expect(compose.version).toBeUndefined();
    expect(Object.keys(compose.services).sort()).toEqual(
      ['consumer', 'ingest-api', 'migrate', 'postgres', 'rabbitmq'].sort(),
    );
  });

  it('runs RabbitMQ and PostgreSQL from the documented images, on named volumes, with health checks', () => {
    const rabbitmq = service('rabbitmq');
    expect(rabbitmq.image).toBe('rabbitmq:3.13-management');
    expect(rabbitmq.healthcheck?.test).toEqual(['CMD', 'rabbitmq-diagnostics', '-q', 'ping']);
    expect(rabbitmq.ports?.map((p) => p.split(':').at(-1))).toEqual(['5672', '15672']);
    expect(rabbitmq.volumes).toContain(CLASSIC_QUEUES_MOUNT);

    const postgres = service('postgres');
    expect(postgres.image).toBe('postgres:17-alpine');
    expect(postgres.healthcheck?.test?.join(' ')).toContain('pg_isready');
    expect(environmentWithDefaults(postgres).POSTGRES_DB).toBe('webhooks');

    for (const name of ['rabbitmq', 'postgres']) {
      const named = (service(name).volumes ?? []).filter((v) => !v.startsWith('.'));
      expect(named, `${name} keeps its data in a named volume`).toHaveLength(1);
      for (const volume of named)
        expect(compose.volumes).toHaveProperty(volume.split(':')[0] ?? '');
    }
  });

  it('starts each service after what it needs: migrate after PostgreSQL, the consumer after migrate', () => {
    expect(service('migrate').depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(service('ingest-api').depends_on).toEqual({
      rabbitmq: { condition: 'service_healthy' },
    });
    expect(service('consumer').depends_on).toEqual({
      rabbitmq: { condition: 'service_healthy' },
      postgres: { condition: 'service_healthy' },
      migrate: { condition: 'service_completed_successfully' },
    });
    for (const name of ['rabbitmq', 'postgres', 'ingest-api', 'consumer']) {
      expect(service(name).restart, name).toBe('unless-stopped');
    }
    expect(service('migrate').restart ?? 'no').toBe('no');
  });

  it('publishes the ingest API on 8081 and checks both services on /readyz of their own port', () => {
    expect(service('ingest-api').ports?.map((p) => withDefaults(p))).toEqual(['8081:8080']);
    for (const name of ['ingest-api', 'consumer'] as const) {
      const test = service(name).healthcheck?.test ?? [];
      const { PORT } = parseEnv(SCHEMAS[name], {});
      expect(test[0]).toBe('CMD');
      expect(test.join(' ')).toContain('/readyz');
      expect(test.join(' '), `${name} probes its default port`).toContain(`|| ${PORT})`);
    }
  });

  it('builds from Dockerfiles and mounts files that exist', () => {
    for (const [name, { build, volumes }] of Object.entries(compose.services)) {
      if (build !== undefined) {
        expect(existsSync(path.join(ROOT, build.context, build.dockerfile)), name).toBe(true);
      }
      for (const volume of volumes ?? []) {
        const [source = ''] = volume.split(':');
        if (source.startsWith('.')) expect(existsSync(path.join(ROOT, source)), volume).toBe(true);
      }
    }
  });

  it('runs the migrate job from the consumer image, with the runner `pnpm migrate` runs from source', () => {
    const migrate = service('migrate');
    expect(migrate.build).toEqual(service('consumer').build);
    expect(migrate.command?.[0]).toBe('node');
    // The path exists in the image (checked in deployment-layout.test.ts); here: it is the
    // runner `pnpm migrate` runs from the sources.
    const runner = migrate.command?.[1] ?? '';
    expect(runner).toMatch(/^node_modules\/@webhooks\/db\/dist\/(.+)\.js$/);
    const source = runner.replace(/^node_modules\/@webhooks\/db\/dist\/(.+)\.js$/, '$1.ts');
    expect(rootPackage.scripts.migrate).toContain(`packages/db/src/${source}`);
    expect(existsSync(path.join(ROOT, 'packages/db/src', source))).toBe(true);
  });

  it.each(APP_SERVICES)('gives %s every setting it reads, and only those', (name) => {
    const passed = Object.keys(service(name).environment ?? {}).sort();
    const read = settingNames(SCHEMAS[name]);
    expect(passed.filter((variable) => !read.includes(variable))).toEqual([]);
    expect(read.filter((v) => !SET_BY_IMAGE.has(v) && !passed.includes(v))).toEqual([]);
  });

  it('has a default for every variable, and the services accept those defaults', () => {
    const missing = variableReferences(composeText).filter((r) => r.defaultValue === undefined);
    expect(missing).toEqual([]);
    for (const name of APP_SERVICES) {
      expect(() => parseEnv(SCHEMAS[name], environmentWithDefaults(service(name)))).not.toThrow();
    }
  });

  it('points the services at the rabbitmq and postgres containers, with their credentials', () => {
    const rabbitmq = environmentWithDefaults(service('rabbitmq'));
    const postgres = environmentWithDefaults(service('postgres'));
    for (const name of ['ingest-api', 'consumer'] as const) {
      const amqp = new URL(environmentWithDefaults(service(name)).AMQP_URL ?? '');
      expect([amqp.hostname, amqp.username, amqp.password]).toEqual([
        'rabbitmq',
        rabbitmq.RABBITMQ_DEFAULT_USER,
        rabbitmq.RABBITMQ_DEFAULT_PASS,
      ]);
    }
    for (const name of ['consumer', 'migrate'] as const) {
      const db = new URL(environmentWithDefaults(service(name)).DATABASE_URL ?? '');
      expect([db.hostname, db.username, db.password, db.pathname]).toEqual([
        'postgres',
        postgres.POSTGRES_USER,
        postgres.POSTGRES_PASSWORD,
        `/${postgres.POSTGRES_DB}`,
      ]);
    }
  });

  it('reads only variables .env.example documents, with the same defaults', () => {
    const documented = readEnvExample();
    for (const { name, defaultValue } of variableReferences(composeText)) {
      const entry = documented.get(name);
      expect(entry, `${name} is documented in .env.example`).toBeDefined();
      if (entry !== undefined && !entry.commented) {
        expect(defaultValue, `compose's default for ${name}`).toBe(entry.value);
      }
    }
  });
});

describe('docker-compose.cluster.yml (three RabbitMQ nodes, added to docker-compose.yml)', () => {
  const NODES = ['rabbitmq', 'rabbitmq-2', 'rabbitmq-3'];
  const node = (name: string) => cluster.services[name] ?? {};

  it('runs three nodes of the same image, each with its hostname, volume and the cluster config', () => {
    expect(node('rabbitmq-2').image).toBe(service('rabbitmq').image);
    expect(node('rabbitmq-3').image).toBe(service('rabbitmq').image);
    const hostnames = NODES.map((name) => node(name).hostname ?? compose.services[name]?.hostname);
    expect(hostnames).toEqual(NODES);
    for (const name of NODES) {
      const volumes = [...(compose.services[name]?.volumes ?? []), ...(node(name).volumes ?? [])];
      expect(volumes, name).toContain(
        './deploy/rabbitmq/cluster.conf:/etc/rabbitmq/conf.d/20-cluster.conf:ro',
      );
      expect(volumes, name).toContain(CLASSIC_QUEUES_MOUNT);
      for (const volume of volumes) {
        const [source = ''] = volume.split(':');
        if (source.startsWith('.')) expect(existsSync(path.join(ROOT, source)), volume).toBe(true);
        else expect({ ...compose.volumes, ...cluster.volumes }).toHaveProperty(source);
      }
      // One cookie for all nodes, or they cannot form a cluster.
      expect(environmentWithDefaults(node(name)).RABBITMQ_ERLANG_COOKIE, name).toBe(
        environmentWithDefaults(node('rabbitmq')).RABBITMQ_ERLANG_COOKIE,
      );
    }
  });

  it('forms the cluster by configuration, from exactly these nodes', () => {
    const conf = readFileSync(path.join(ROOT, 'deploy/rabbitmq/cluster.conf'), 'utf8');
    expect(conf).toContain('cluster_formation.peer_discovery_backend = classic_config');
    const listed = [...conf.matchAll(/^cluster_formation\.classic_config\.nodes\.\d+ = (.+)$/gm)];
    expect(listed.map((m) => m[1])).toEqual(NODES.map((name) => `rabbit@${name}`));
  });

  it('gives both services all three nodes, and starts them once all three are up', () => {
    for (const name of ['ingest-api', 'consumer'] as const) {
      const env = {
        ...environmentWithDefaults(service(name)),
        ...environmentWithDefaults(node(name)),
      };
      const urls = parseEnv(SCHEMAS[name], env).AMQP_URL;
      expect(urls.map((url) => new URL(url).hostname)).toEqual(NODES);
      for (const nodeName of NODES) {
        expect(node(name).depends_on?.[nodeName], `${name} after ${nodeName}`).toEqual({
          condition: 'service_healthy',
        });
      }
    }
    expect(node('consumer').depends_on).toMatchObject(service('consumer').depends_on ?? {});
  });

  it('reads only variables .env.example documents, with the same defaults', () => {
    const documented = readEnvExample();
    for (const { name, defaultValue } of variableReferences(clusterText)) {
      const entry = documented.get(name);
      expect(entry, `${name} is documented in .env.example`).toBeDefined();
      expect(defaultValue, `the cluster file's default for ${name}`).toBe(entry?.value);
    }
  });
});

describe('.env.example', () => {
  it('documents every setting of both services and of the migrate job', () => {
    const documented = readEnvExample();
    const undocumented = [...allSettingNames()].filter((name) => !documented.has(name));
    expect(undocumented).toEqual([]);
  });

  it('gives each setting the default the code applies', () => {
    for (const [name, { value, commented }] of readEnvExample()) {
      if (commented) continue;
      for (const schema of Object.values(SCHEMAS)) {
        if (!settingNames(schema).includes(name)) continue;
        const defaults = parseEnv(schema, {}) as Record<string, unknown>;
        const documented = parseEnv(schema, { [name]: value }) as Record<string, unknown>;
        expect(documented[name], `.env.example's ${name}=${value}`).toEqual(defaults[name]);
      }
    }
  });

  it('lists nothing that neither a service nor the compose file reads', () => {
    const read = new Set([
      ...allSettingNames(),
      ...variableReferences(composeText).map((r) => r.name),
      ...variableReferences(clusterText).map((r) => r.name),
    ]);
    expect([...readEnvExample().keys()].filter((name) => !read.has(name))).toEqual([]);
  });
});

describe.each(['ingest-api', 'consumer'] as const)('services/%s/Dockerfile', (name) => {
  const dockerfile = path.join(ROOT, 'services', name, 'Dockerfile');
  const stages = readDockerfile(dockerfile);
  const runtime = stages.at(-1);
  const build = stages[0];
  const packageName = (
    JSON.parse(readFileSync(path.join(ROOT, 'services', name, 'package.json'), 'utf8')) as {
      name: string;
    }
  ).name;
  if (runtime === undefined || build === undefined) throw new Error(`${dockerfile}: no stage`);

  it('is multi-stage, from base images pinned to a major version', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const { image } of stages) expect(image).toMatch(/^[a-z0-9./-]+:\d+(-[a-z0-9.]+)?$/);
  });

  it('copies from the build context only files that exist and .dockerignore lets through', () => {
    const ignored = dockerIgnoreMatcher(path.join(ROOT, '.dockerignore'));
    for (const stage of stages) {
      for (const args of argsOf(stage, 'COPY')) {
        const copy = parseCopy(args);
        if (copy.from !== undefined) {
          expect(stages.map((s) => s.name)).toContain(copy.from);
          continue;
        }
        for (const source of copy.sources) {
          expect(existsSync(path.join(ROOT, source)), `COPY ${source}`).toBe(true);
          if (source !== '.') expect(ignored(source), `${source} is ignored`).toBe(false);
        }
      }
    }
  });

  it('builds with the repository pnpm version and deploys this service with production dependencies only', () => {
    const runs = argsOf(build, 'RUN');
    const pnpmVersion = rootPackage.packageManager.replace(/^pnpm@/, '');
    expect(runs).toContain(`npm install --global pnpm@${pnpmVersion}`);
    expect(runs).toContain('pnpm install --offline --frozen-lockfile');
    expect(runs).toContain(`pnpm --filter ${packageName}... run build`);
    const deploy = runs.find((run) => / deploy /.test(run)) ?? '';
    expect(deploy).toMatch(new RegExp(`^pnpm --filter ${packageName} deploy .*--prod`));
    const target = deploy.split(' ').at(-1);
    expect(argsOf(runtime, 'COPY')).toContain(`--from=${build.name} ${target} ./`);
  });

  it('runs compiled JavaScript with node, as a non-root user, with a health check', () => {
    const [command] = argsOf(runtime, 'CMD');
    // The young-generation and heap caps keep peak RSS down (docs/performance.md).
    expect(execForm(command ?? '')).toEqual([
      'node',
      '--max-semi-space-size=8',
      '--max-old-space-size=1024',
      'dist/main.js',
    ]);
    const servicePackage = JSON.parse(
      readFileSync(path.join(ROOT, 'services', name, 'package.json'), 'utf8'),
    ) as { scripts: Record<string, string> };
    expect(servicePackage.scripts.start, 'pnpm start runs the same command').toBe(
      'node --max-semi-space-size=8 --max-old-space-size=1024 dist/main.js',
    );
    const users = argsOf(runtime, 'USER');
    expect(users.at(-1)).toBeDefined();
    expect(['root', '0']).not.toContain(users.at(-1));
    const [healthcheck] = argsOf(runtime, 'HEALTHCHECK');
    expect(execForm(healthcheck ?? '')).toEqual(service(name).healthcheck?.test?.slice(1));
  });

  it('sets only environment variables the service reads (or Node itself)', () => {
    const names = argsOf(runtime, 'ENV').flatMap((args) => Object.keys(parseEnvInstruction(args)));
    const read = new Set([
      ...settingNames(SCHEMAS[name]),
      ...(name === 'consumer' ? settingNames(MigrateConfig) : []),
      'NODE_ENV',
    ]);
    expect(names.filter((variable) => !read.has(variable))).toEqual([]);
  });
});

describe('.dockerignore', () => {
  const ignored = dockerIgnoreMatcher(path.join(ROOT, '.dockerignore'));

  it("keeps the host's installs, builds and secrets out of the build context", () => {
    for (const p of [
      'node_modules',
      'packages/db/node_modules',
      'services/consumer/dist',
      '.env',
      '.git',
    ]) {
      expect(ignored(p), p).toBe(true);
    }
  });

  it('lets through everything the build stage compiles and the images copy', () => {
    const needed = ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml', '.npmrc'];
    needed.push('tsconfig.base.json', 'migrations');
    for (const group of ['packages', 'services']) {
      for (const pkg of readdirSync(path.join(ROOT, group))) {
        needed.push(`${group}/${pkg}/package.json`, `${group}/${pkg}/tsconfig.build.json`);
        needed.push(`${group}/${pkg}/src`);
      }
    }
    for (const migration of readdirSync(path.join(ROOT, 'migrations'))) {
      needed.push(`migrations/${migration}`);
    }
    expect(needed.filter((p) => !existsSync(path.join(ROOT, p)))).toEqual([]);
    expect(needed.filter((p) => ignored(p))).toEqual([]);
  });
});
