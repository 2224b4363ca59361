/**
 * Which storage format (1 or 2) RabbitMQ keeps a classic queue in. The two differ in their
 * confirm tail (docs/performance.md, "Classic queue storage"), and a broker's default depends on
 * its version and configuration, so a classic run names the format it measured.
 *
 * Read from the management API, on the AMQP URL's host with its credentials. The queue's
 * statistics appear there a few seconds after it is declared (the broker's statistics interval),
 * so the queue is asked for again until they do. `undefined` when the API cannot tell: not
 * enabled, not reachable, or no format within `timeoutMs`.
 */
export async function classicQueueFormat(options: {
  amqpUrl: string;
  queue: string;
  timeoutMs?: number;
}): Promise<number | undefined> {
  const { base, headers, vhost } = managementApiOf(options.amqpUrl);
  const url = `${base}/api/queues/${encodeURIComponent(vhost)}/${encodeURIComponent(options.queue)}`;
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
      if (response.status !== 200) return undefined;
      const version = formatOf(await response.json());
      if (version !== undefined) return version;
    } catch {
      return undefined;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  return undefined;
}

/** `backing_queue_status.version` of a management API queue document, if it has one. */
export function formatOf(queue: unknown): number | undefined {
  if (typeof queue !== 'object' || queue === null || !('backing_queue_status' in queue)) {
    return undefined;
  }
  const status = queue.backing_queue_status;
  if (typeof status !== 'object' || status === null || !('version' in status)) return undefined;
  return status.version === 1 || status.version === 2 ? status.version : undefined;
}

/** The management plugin's port. */
const MANAGEMENT_PORT = 15672;

/** The management API of the broker `amqpUrl` names: its address, login and the URL's vhost. */
export function managementApiOf(amqpUrl: string): {
  base: string;
  headers: { authorization: string };
  vhost: string;
} {
  const amqp = new URL(amqpUrl);
  const user = decodeURIComponent(amqp.username || 'guest');
  const password = decodeURIComponent(amqp.password || 'guest');
  return {
    base: `http://${amqp.hostname}:${MANAGEMENT_PORT}`,
    headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` },
    vhost: decodeURIComponent(amqp.pathname.slice(1)) || '/',
  };
}
