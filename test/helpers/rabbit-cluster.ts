import { execFileSync } from 'node:child_process';
import { chown, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';
import { runCommand } from './run-command.js';
import { waitFor } from './wait-for.js';

/**
 * Three RabbitMQ nodes clustered on this machine, started from the installed `rabbitmq-server`
 * (no Docker), each with its own name, ports, data and logs, beside the machine's own broker,
 * which is never addressed: every `rabbitmqctl` call names one of these nodes with `-n`, and the
 * ports are free ones (never 5672, 15672 or 25672).
 *
 * The nodes run as the `rabbitmq` user (Debian's scripts switch to it when run as root), so they
 * and `rabbitmqctl` share that user's Erlang cookie.
 */

/** Fixed names, so a run can find and end what an aborted earlier run left behind. */
const NODE_PREFIX = 'webhooks-test-rc';
const BASE_DIR = path.join(os.tmpdir(), 'webhooks-rabbit-cluster');
const STARTUP_TIMEOUT_MS = 120_000;
/** What docker-compose mounts into each RabbitMQ node's `conf.d` besides the cluster's peers. */
const DEPLOYED_CONF = fileURLToPath(
  new URL('../../deploy/rabbitmq/classic-queues.conf', import.meta.url),
);

export interface ClusterNode {
  /** Erlang node name, e.g. `webhooks-test-rc1@localhost`. */
  readonly name: string;
  readonly amqpPort: number;
  readonly distPort: number;
  /** `amqp://guest:guest@127.0.0.1:<amqpPort>` */
  readonly url: string;
  readonly dir: string;
}

/** Why the cluster cannot run here, or `undefined` when it can. */
export function clusterUnavailableReason(): string | undefined {
  try {
    execFileSync('sh', ['-c', 'command -v rabbitmq-server && command -v rabbitmqctl'], {
      stdio: 'ignore',
    });
  } catch {
    return 'rabbitmq-server is not installed on this machine';
  }
  if (process.getuid?.() !== 0) {
    return 'starting extra RabbitMQ nodes needs root (the scripts switch to the rabbitmq user)';
  }
  return undefined;
}

export class RabbitCluster {
  readonly nodes: readonly ClusterNode[];
  readonly #log: (line: string) => void;

  private constructor(nodes: ClusterNode[], log: (line: string) => void) {
    this.nodes = nodes;
    this.#log = log;
  }

  /** The nodes' URLs, in node order (what `AMQP_URL` takes, comma-separated). */
  get urls(): string[] {
    return this.nodes.map((node) => node.url);
  }

  /**
   * Ends nodes left by an earlier run, starts `size` fresh nodes and joins them to the first.
   * On failure everything started is torn down again before the error is thrown.
   */
  static async start(options: { size?: number; log?: (line: string) => void } = {}) {
    const size = options.size ?? 3;
    const log = options.log ?? (() => {});
    await killLeftovers(log);
    await mkdir(BASE_DIR, { recursive: true });
    const nodes: ClusterNode[] = [];
    for (let i = 1; i <= size; i++) {
      const amqpPort = await freePort();
      const distPort = await freePort();
      nodes.push({
        name: `${NODE_PREFIX}${i}@localhost`,
        amqpPort,
        distPort,
        url: `amqp://guest:guest@127.0.0.1:${amqpPort}`,
        dir: path.join(BASE_DIR, `rc${i}`),
      });
    }
    const cluster = new RabbitCluster(nodes, log);
    try {
      const started = Date.now();
      await Promise.all(nodes.map((node) => prepareNode(node)));
      await Promise.all(nodes.map((node) => cluster.startNode(node)));
      const [first, ...others] = nodes;
      if (first === undefined) throw new Error('a cluster needs at least one node');
      for (const node of others) {
        await cluster.#ctl(node, ['stop_app']);
        await cluster.#ctl(node, ['join_cluster', first.name]);
        await cluster.#ctl(node, ['start_app']);
      }
      await cluster.waitForAllRunning();
      log(`cluster of ${size} nodes formed in ${Date.now() - started} ms`);
      return cluster;
    } catch (err) {
      await cluster.close();
      throw err;
    }
  }

  /** Starts (or restarts) one node and waits until it is booted. */
  async startNode(node: ClusterNode): Promise<void> {
    const result = await runCommand('rabbitmq-server', ['-detached'], {
      cwd: BASE_DIR,
      env: nodeEnv(node),
      timeoutMs: 30_000,
    });
    if (result.code !== 0) {
      throw new Error(`rabbitmq-server for ${node.name} exited ${result.code}: ${result.output}`);
    }
    // `await_startup` fails at once while the node is not yet registered: ask again.
    await waitFor(
      `${node.name} to start`,
      async () => (await this.#ctl(node, ['await_startup', '--timeout', '30'], false)).code === 0,
      { timeoutMs: STARTUP_TIMEOUT_MS, intervalMs: 1000 },
    );
  }

  /** SIGKILL of the node's Erlang VM: a crash, no goodbye to clients or peers. */
  async kill(node: ClusterNode): Promise<void> {
    const pid = await readPid(node);
    if (pid === undefined) throw new Error(`no pid file for ${node.name}`);
    process.kill(pid, 'SIGKILL');
    await waitFor(`${node.name} to be gone`, () => !isAlive(pid), { timeoutMs: 30_000 });
    this.#log(`killed ${node.name} (pid ${pid})`);
  }

  /** Stops the node the way an operator would (clients are told, queues hand over). */
  async stopGracefully(node: ClusterNode): Promise<void> {
    const pid = await readPid(node);
    await this.#ctl(node, ['stop']);
    if (pid !== undefined) {
      await waitFor(`${node.name} to exit`, () => !isAlive(pid), { timeoutMs: 60_000 });
    }
    this.#log(`stopped ${node.name}`);
  }

  /** Waits until every node runs and sees all the others. */
  async waitForAllRunning(timeoutMs = STARTUP_TIMEOUT_MS): Promise<void> {
    const names = this.nodes.map((node) => node.name).sort();
    await waitFor(
      'every node to run in the cluster',
      async () => {
        for (const node of this.nodes) {
          const status = await this.#ctl(node, ['cluster_status', '--formatter', 'json'], false);
          if (status.code !== 0) return false;
          const running = (JSON.parse(jsonPart(status.output)).running_nodes ?? []) as string[];
          if (running.slice().sort().join() !== names.join()) return false;
        }
        return true;
      },
      { timeoutMs, intervalMs: 1000 },
    );
  }

  /** The node holding the leader of a quorum `queue` (asked of any running node). */
  async leaderOf(queue: string): Promise<ClusterNode> {
    for (const node of this.nodes) {
      const result = await this.#ctl(
        node,
        ['list_queues', 'name', 'leader', '--formatter', 'json'],
        false,
      );
      if (result.code !== 0) continue;
      const rows = JSON.parse(jsonPart(result.output)) as Array<{ name: string; leader: string }>;
      const leader = rows.find((row) => row.name === queue)?.leader;
      const found = this.nodes.find((candidate) => candidate.name === leader);
      if (found !== undefined) return found;
    }
    throw new Error(`no leader found for ${queue}`);
  }

  /** The storage format (1 or 2) of each classic queue, as `node` reports it, by queue name. */
  async classicQueueVersions(node: ClusterNode): Promise<Map<string, number>> {
    const expression =
      '[io:format("~s ~p~n", [element(4, amqqueue:get_name(Q)), proplists:get_value(version, ' +
      'proplists:get_value(backing_queue_status, rabbit_amqqueue:info(Q, ' +
      '[backing_queue_status]), []))]) || Q <- rabbit_amqqueue:list(), ' +
      'amqqueue:get_type(Q) =:= rabbit_classic_queue], ok.';
    const { output } = await this.#ctl(node, ['eval', expression]);
    const versions = new Map<string, number>();
    for (const line of output.split('\n')) {
      const match = /^(\S+) (\d+)$/.exec(line.trim());
      if (match?.[1] !== undefined) versions.set(match[1], Number(match[2]));
    }
    return versions;
  }

  /** The node listening on `port`, e.g. the one a connection goes to. */
  nodeOnPort(port: number): ClusterNode {
    const node = this.nodes.find((candidate) => candidate.amqpPort === port);
    if (node === undefined) throw new Error(`no cluster node on port ${port}`);
    return node;
  }

  /** Kills every node (it is all thrown away) and removes their data. Never throws. */
  async close(): Promise<void> {
    await killLeftovers(this.#log);
  }

  async #ctl(node: ClusterNode, args: readonly string[], mustSucceed = true) {
    // Always `-n <our node>`: without it rabbitmqctl would address the machine's own broker.
    const result = await runCommand('rabbitmqctl', ['-n', node.name, '-q', ...args], {
      cwd: BASE_DIR,
      env: { PATH: process.env.PATH ?? '' },
      timeoutMs: 60_000,
    });
    if (mustSucceed && result.code !== 0) {
      throw new Error(`rabbitmqctl -n ${node.name} ${args.join(' ')}: ${result.output}`);
    }
    return result;
  }
}

/** The JSON document in rabbitmqctl's output (it may print warnings before it). */
function jsonPart(output: string): string {
  const start = output.search(/[[{]/);
  return start < 0 ? 'null' : output.slice(start);
}

function nodeEnv(node: ClusterNode): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    RABBITMQ_NODENAME: node.name,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(node.amqpPort),
    RABBITMQ_DIST_PORT: String(node.distPort),
    RABBITMQ_MNESIA_BASE: path.join(node.dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(node.dir, 'log'),
    RABBITMQ_PID_FILE: path.join(node.dir, 'pid'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(node.dir, 'enabled_plugins'),
    // Our own files, not the machine broker's (whose config names port 5672).
    RABBITMQ_CONFIG_FILE: path.join(node.dir, 'rabbitmq.conf'),
    RABBITMQ_CONF_ENV_FILE: path.join(node.dir, 'rabbitmq-env.conf'),
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
  };
}

async function prepareNode(node: ClusterNode): Promise<void> {
  await mkdir(path.join(node.dir, 'mnesia'), { recursive: true });
  await mkdir(path.join(node.dir, 'log'), { recursive: true });
  // The broker settings docker-compose gives its nodes, beside this node's own listener.
  const deployed = await readFile(DEPLOYED_CONF, 'utf8');
  await writeFile(
    path.join(node.dir, 'rabbitmq.conf'),
    `listeners.tcp.local = 127.0.0.1:${node.amqpPort}\n${deployed}`,
  );
  // No plugins: the management plugin would want the machine broker's port 15672.
  await writeFile(path.join(node.dir, 'enabled_plugins'), '[].\n');
  await writeFile(path.join(node.dir, 'rabbitmq-env.conf'), '');
  const uid = Number(execFileSync('id', ['-u', 'rabbitmq']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'rabbitmq']).toString().trim());
  for (const target of [BASE_DIR, node.dir, ...(await listTree(node.dir))]) {
    await chown(target, uid, gid);
  }
}

async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.map((entry) => path.join(dir, entry));
}

async function readPid(node: Pick<ClusterNode, 'dir'>): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(path.join(node.dir, 'pid'), 'utf8')).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Ends nodes of this helper still running (found by their pid files) and removes the data. */
async function killLeftovers(log: (line: string) => void): Promise<void> {
  let dirs: string[] = [];
  try {
    dirs = (await readdir(BASE_DIR)).map((entry) => path.join(BASE_DIR, entry));
  } catch {
    return;
  }
  for (const dir of dirs) {
    const pid = await readPid({ dir });
    if (pid === undefined || !isAlive(pid)) continue;
    // Only an Erlang VM of one of our nodes: a stale pid may since belong to anything else.
    const environment = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
    if (!environment.includes(`RABBITMQ_NODENAME=${NODE_PREFIX}`)) continue;
    process.kill(pid, 'SIGKILL');
    await waitFor(`leftover node ${pid} to end`, () => !isAlive(pid), { timeoutMs: 30_000 }).catch(
      () => {},
    );
    log(`ended node left running (pid ${pid})`);
  }
  await rm(BASE_DIR, { recursive: true, force: true });
}
