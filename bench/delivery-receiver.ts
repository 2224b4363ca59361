import http from 'node:http';
import { Webhook } from 'standardwebhooks';

// The destination of the delivery phases: a plain node:http server that reads each delivery,
// notes when it arrived and answers 204 at once, so the bench measures the sender and not a
// receiver. Checking a signature costs CPU the sender would then lose on two cores, so only
// one delivery in `verifyEvery` (the first of each path included) is verified, with the
// `standardwebhooks` library as published: enough to prove every delivery is signed right.
// Each subscription gets its own path; `GET /stats?path=…` and `GET /arrivals?path=…` read
// what arrived there. It listens on a port the kernel picks and prints `listening <port>`.
// argv: secret verifyEvery
const [secret, every] = process.argv.slice(2);
if (secret === undefined) throw new Error('usage: delivery-receiver.ts <whsec_…> [verifyEvery]');
const verifier = new Webhook(secret);
const verifyEvery = Number(every ?? 100);

/** What arrived at one path. */
interface Destination {
  /** POSTs, duplicates included. */
  received: number;
  /** `webhook-id` → when it first arrived (its whole body read), ms since the epoch. */
  firstArrival: Map<string, number>;
  verified: number;
  notVerified: number;
  firstAtMs: number;
  lastAtMs: number;
}

const destinations = new Map<string, Destination>();

function destinationAt(path: string): Destination {
  let destination = destinations.get(path);
  if (destination === undefined) {
    destination = {
      received: 0,
      firstArrival: new Map(),
      verified: 0,
      notVerified: 0,
      firstAtMs: 0,
      lastAtMs: 0,
    };
    destinations.set(path, destination);
  }
  return destination;
}

const header = (request: http.IncomingMessage, name: string) => {
  const value = request.headers[name];
  return (Array.isArray(value) ? value[0] : value) ?? '';
};

function receive(request: http.IncomingMessage, response: http.ServerResponse): void {
  const destination = destinationAt(request.url ?? '/');
  const sampled = destination.received % verifyEvery === 0;
  destination.received += 1;
  const webhookId = header(request, 'webhook-id');
  const chunks: Buffer[] = [];
  if (sampled) request.on('data', (chunk: Buffer) => chunks.push(chunk));
  else request.resume();
  request.on('end', () => {
    const atMs = Date.now();
    if (!destination.firstArrival.has(webhookId)) destination.firstArrival.set(webhookId, atMs);
    if (destination.firstAtMs === 0) destination.firstAtMs = atMs;
    destination.lastAtMs = atMs;
    if (sampled) {
      try {
        verifier.verify(
          Buffer.concat(chunks).toString('utf8'),
          {
            'webhook-id': webhookId,
            'webhook-timestamp': header(request, 'webhook-timestamp'),
            'webhook-signature': header(request, 'webhook-signature'),
          },
          { jsonParse: false },
        );
        destination.verified += 1;
      } catch {
        destination.notVerified += 1;
      }
    }
    response.writeHead(204).end();
  });
}

function answerControl(url: URL, response: http.ServerResponse): void {
  const destination = destinations.get(url.searchParams.get('path') ?? '');
  const json = (body: unknown) =>
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  if (url.pathname === '/stats') {
    json({
      received: destination?.received ?? 0,
      unique: destination?.firstArrival.size ?? 0,
      verified: destination?.verified ?? 0,
      notVerified: destination?.notVerified ?? 0,
      firstAtMs: destination?.firstAtMs ?? 0,
      lastAtMs: destination?.lastAtMs ?? 0,
    });
  } else if (url.pathname === '/arrivals') {
    const arrivals = [...(destination?.firstArrival ?? [])];
    json({ webhookIds: arrivals.map(([id]) => id), atMs: arrivals.map(([, at]) => at) });
  } else {
    response.writeHead(404).end();
  }
}

const server = http.createServer((request, response) => {
  if (request.method === 'POST') receive(request, response);
  else answerControl(new URL(request.url ?? '/', 'http://receiver'), response);
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(
    `listening ${typeof address === 'object' && address !== null ? address.port : 0}\n`,
  );
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
