import net from 'node:net';

type Mode = 'pass' | 'reset' | 'blackhole';

/**
 * A TCP proxy between a service and RabbitMQ or PostgreSQL that tests can break on purpose,
 * so no test ever has to stop the machine's shared servers.
 * - `pass`: bytes flow both ways;
 * - `cut()`: every open connection is reset and new ones are refused (accepted, then reset);
 * - `blackhole()`: connections stay open but nothing gets through (a hung peer);
 * - `restore()`: back to `pass` for new connections.
 */
export class FaultProxy {
  readonly #server: net.Server;
  readonly #target: { host: string; port: number };
  readonly #sockets = new Set<net.Socket>();
  readonly #clients = new Set<net.Socket>();
  #mode: Mode = 'pass';

  private constructor(server: net.Server, target: { host: string; port: number }) {
    this.#server = server;
    this.#target = target;
    server.on('connection', (client) => this.#accept(client));
  }

  static async start(target: { host: string; port: number }): Promise<FaultProxy> {
    const server = net.createServer();
    const proxy = new FaultProxy(server, target);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** Starts a proxy in front of the host and port of `url`, returning `url` rewritten to it. */
  static async inFrontOf(
    url: string,
    defaultPort: number,
  ): Promise<{ proxy: FaultProxy; url: string }> {
    const parsed = new URL(url);
    const proxy = await FaultProxy.start({
      host: parsed.hostname,
      port: parsed.port === '' ? defaultPort : Number(parsed.port),
    });
    parsed.hostname = '127.0.0.1';
    parsed.port = String(proxy.port);
    return { proxy, url: parsed.toString() };
  }

  get port(): number {
    const address = this.#server.address();
    if (address === null || typeof address === 'string') throw new Error('proxy not listening');
    return address.port;
  }

  /** Client connections open through the proxy now (e.g. is a service using this node?). */
  get openConnections(): number {
    return this.#clients.size;
  }

  #accept(client: net.Socket): void {
    this.#track(client);
    this.#clients.add(client);
    client.on('close', () => this.#clients.delete(client));
    if (this.#mode === 'reset') {
      client.resetAndDestroy();
      return;
    }
    if (this.#mode === 'blackhole') {
      client.resume();
      return;
    }
    const upstream = net.connect(this.#target);
    this.#track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    const closeBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', closeBoth).on('close', closeBoth);
    upstream.on('error', closeBoth).on('close', closeBoth);
  }

  #track(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => {});
  }

  /** Resets every connection and refuses new ones until `restore()`. */
  cut(): void {
    this.#mode = 'reset';
    for (const socket of this.#sockets) socket.resetAndDestroy();
  }

  /** Keeps connections open but lets nothing through, in either direction. */
  blackhole(): void {
    this.#mode = 'blackhole';
    for (const socket of this.#sockets) {
      socket.unpipe();
      socket.removeAllListeners('data');
      socket.resume();
    }
  }

  restore(): void {
    if (this.#mode === 'blackhole') for (const socket of this.#sockets) socket.destroy();
    this.#mode = 'pass';
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
