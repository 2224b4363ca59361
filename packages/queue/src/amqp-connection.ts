import amqp, { type ChannelModel } from 'amqplib';
import type { Logger } from 'pino';
import { coalesceFrameWrites } from './coalesced-writes.js';
import { TopologyMismatchError } from './errors.js';

export interface AmqpConnectionOptions {
  /**
   * One broker URL, or the URLs of a cluster's nodes. The first attempt goes to a random one
   * (so replicas spread over the nodes); every failed attempt or lost connection moves to the
   * next.
   */
  url: string | readonly string[];
  logger: Logger;
  /** Shown in the broker's Management UI. */
  connectionName: string;
  /** First reconnect delay. Default 100 ms; doubles up to `maxReconnectDelayMs`. */
  initialReconnectDelayMs?: number;
  /** Default 5000 ms. */
  maxReconnectDelayMs?: number;
  /** Heartbeat interval negotiated with the broker, seconds. Default 10. */
  heartbeatSeconds?: number;
  /** Longest a TCP connect to one node may take before the next is tried, ms. Default 5000. */
  connectTimeoutMs?: number;
}

/**
 * Runs on every successful (re)connection, in registration order. A listener opens its channels
 * and declares what it needs; if it throws, the connection is dropped and retried, so a
 * half-set-up connection is never reported as connected.
 */
export type ConnectedListener = (connection: ChannelModel) => Promise<void>;

/**
 * One broker connection that reconnects by itself, logging each attempt, and re-runs every
 * registered setup on each new connection. Given several nodes it goes round them: a lost
 * connection is retried at once on the next node, and the backoff (exponential, with jitter)
 * grows only with each full round that found no node answering.
 *
 * Own code rather than a library: amqplib (the only AMQP client here) has no recovery of its
 * own; amqp-connection-manager keeps unconfirmed publishes in memory and sends them again on
 * the next connection, which would turn a 503 the client already got into a stored event, and
 * rabbitmq-client would replace amqplib and the confirm publisher built on it. What the
 * services need (a node list, setup re-run on every connection, publishes in flight failing
 * when their connection goes) is this small class.
 */
export class AmqpConnection {
  readonly #options: Required<Omit<AmqpConnectionOptions, 'url'>>;
  readonly #urls: readonly string[];
  /** Index of the node in use or being tried, and of the one tried next. */
  #current = 0;
  #next: number;
  readonly #listeners: ConnectedListener[] = [];
  readonly #stateListeners = new Set<(connected: boolean) => void>();
  #connection: ChannelModel | undefined;
  #connected = false;
  #closing = false;
  #started = false;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed: Promise<void> | undefined;

  constructor(options: AmqpConnectionOptions) {
    const { url, ...rest } = options;
    this.#options = {
      initialReconnectDelayMs: 100,
      maxReconnectDelayMs: 5000,
      heartbeatSeconds: 10,
      connectTimeoutMs: 5000,
      ...rest,
    };
    this.#urls = typeof url === 'string' ? [url] : [...url];
    if (this.#urls.length === 0) throw new Error('AmqpConnection needs at least one broker URL');
    this.#next = Math.floor(Math.random() * this.#urls.length);
  }

  /** The node in use or being tried, without credentials (for logs and readiness). */
  get node(): string {
    return describeNode(this.#urls[this.#current] ?? '');
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Registers a setup step; call before `start()`. */
  onConnected(listener: ConnectedListener): void {
    this.#listeners.push(listener);
  }

  /** Called with `true` once set-up has succeeded, with `false` when the connection is lost. */
  onStateChange(listener: (connected: boolean) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  /** Begins connecting in the background; the first failure is retried like any other. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    void this.#connect();
  }

  /** Resolves once connected, or rejects after `timeoutMs`. */
  waitUntilConnected(timeoutMs: number): Promise<void> {
    if (this.#connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`not connected to the broker within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.onStateChange((connected) => {
        if (!connected) return;
        clearTimeout(timer);
        off();
        resolve();
      });
    });
  }

  async #connect(): Promise<void> {
    if (this.#closing) return;
    this.#attempt += 1;
    const { logger, connectionName, heartbeatSeconds, connectTimeoutMs } = this.#options;
    this.#current = this.#next;
    this.#next = (this.#next + 1) % this.#urls.length;
    const url = this.#urls[this.#current] as string;
    const node = describeNode(url);
    let connection: ChannelModel | undefined;
    try {
      connection = await amqp.connect(withHeartbeat(url, heartbeatSeconds), {
        clientProperties: { connection_name: connectionName },
        noDelay: true,
        timeout: connectTimeoutMs,
      });
      coalesceFrameWrites(connection);
      connection.on('error', (err: Error) => {
        logger.warn({ err }, 'broker connection error');
      });
      connection.once('close', () => this.#onLost(connection));
      connection.on('blocked', (reason: string) => logger.warn({ reason }, 'broker blocked us'));
      connection.on('unblocked', () => logger.info('broker unblocked us'));
      if (this.#closing) {
        await connection.close().catch(() => {});
        return;
      }
      this.#connection = connection;
      for (const listener of this.#listeners) await listener(connection);
      this.#attempt = 0;
      this.#setConnected(true);
      logger.info({ connectionName, node }, 'connected to the broker');
    } catch (err) {
      if (connection !== undefined) {
        this.#connection = undefined;
        await connection.close().catch(() => {});
      }
      if (this.#closing) return;
      const delayMs = this.#backoffMs();
      // A setup that can never succeed (e.g. a queue of the other type) is an error, not a
      // blip; it is still retried, so fixing the broker side needs no restart.
      logger[err instanceof TopologyMismatchError ? 'error' : 'warn'](
        { err, node, attempt: this.#attempt, retryInMs: delayMs },
        err instanceof TopologyMismatchError ? err.message : 'broker connection attempt failed',
      );
      this.#scheduleReconnect(delayMs);
    }
  }

  #onLost(connection: ChannelModel | undefined): void {
    if (connection !== this.#connection) return;
    this.#connection = undefined;
    this.#setConnected(false);
    if (this.#closing) return;
    // Another node may well be up: try it at once (one node alone gets the first backoff step).
    this.#attempt = 0;
    const delayMs = this.#urls.length > 1 ? 0 : this.#backoffMs();
    this.#options.logger.warn(
      { node: this.node, retryInMs: delayMs },
      'broker connection lost; reconnecting',
    );
    this.#scheduleReconnect(delayMs);
  }

  #scheduleReconnect(delayMs: number): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => void this.#connect(), delayMs);
  }

  #backoffMs(): number {
    const { initialReconnectDelayMs, maxReconnectDelayMs } = this.#options;
    // Within a round of the nodes the next one is tried after the first step; each full round
    // without an answer doubles the wait.
    const rounds = Math.floor(this.#attempt / this.#urls.length);
    const exponential = initialReconnectDelayMs * 2 ** Math.min(rounds, 16);
    const capped = Math.min(maxReconnectDelayMs, exponential);
    // ±20 % jitter, so replicas that lost the broker together do not return in lockstep.
    return Math.round(capped * (0.8 + Math.random() * 0.4));
  }

  #setConnected(connected: boolean): void {
    if (this.#connected === connected) return;
    this.#connected = connected;
    for (const listener of this.#stateListeners) listener(connected);
  }

  /**
   * Drops the current connection so that it is set up afresh (with backoff), e.g. when the
   * broker closed one of its channels and nothing else would ever reopen it.
   */
  reconnect(reason: string): void {
    const connection = this.#connection;
    if (connection === undefined || this.#closing) return;
    this.#options.logger.warn({ reason }, 'reopening the broker connection');
    void connection.close().catch(() => {});
  }

  /**
   * Ready-message counts of `queues`, on a short-lived channel of its own (a missing queue
   * closes that channel, not the ones in use). Empty while disconnected.
   */
  async queueDepths(queues: readonly string[]): Promise<Map<string, number>> {
    const depths = new Map<string, number>();
    const connection = this.#connection;
    if (connection === undefined || !this.#connected) return depths;
    const channel = await connection.createChannel();
    channel.on('error', () => {});
    try {
      for (const queue of queues) depths.set(queue, (await channel.checkQueue(queue)).messageCount);
    } catch {
      // Partial knowledge is still worth reporting.
    } finally {
      await channel.close().catch(() => {});
    }
    return depths;
  }

  /** Stops reconnecting and closes the connection. Idempotent; bounded by `timeoutMs`. */
  close(timeoutMs = 5000): Promise<void> {
    this.#closed ??= this.#close(timeoutMs);
    return this.#closed;
  }

  async #close(timeoutMs: number): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#retryTimer);
    const connection = this.#connection;
    this.#connection = undefined;
    this.#setConnected(false);
    if (connection === undefined) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([connection.close().catch(() => {}), timeout]);
    clearTimeout(timer);
  }
}

/** `amqp://user:secret@host:5672/vhost` → `host:5672`: never log a password. */
function describeNode(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.port === '' ? parsed.hostname : `${parsed.hostname}:${parsed.port}`;
  } catch {
    return '(invalid URL)';
  }
}

function withHeartbeat(url: string, heartbeatSeconds: number): string {
  const parsed = new URL(url);
  if (!parsed.searchParams.has('heartbeat')) {
    parsed.searchParams.set('heartbeat', String(heartbeatSeconds));
  }
  return parsed.toString();
}
