import type { Socket } from 'node:net';
import type { IngestMetrics } from './metrics.js';

/** What Node reports before a request reaches Fastify, and how the API answers it. */
const ANSWERS: Record<string, { status: number; reason: string; error: string }> = {
  // Headers (slowloris) or body not complete within HEADERS_TIMEOUT_MS / REQUEST_TIMEOUT_MS.
  ERR_HTTP_REQUEST_TIMEOUT: { status: 408, reason: 'Request Timeout', error: 'request_timeout' },
  // Headers past Node's limit (16 KiB by default).
  HPE_HEADER_OVERFLOW: {
    status: 431,
    reason: 'Request Header Fields Too Large',
    error: 'headers_too_large',
  },
};
const MALFORMED = { status: 400, reason: 'Bad Request', error: 'malformed_request' };

/**
 * Fastify's `clientErrorHandler`: answers what Node refuses before routing (a request that is
 * not HTTP, headers too large, a timeout) with the API's JSON error bodies, counts it in
 * `http_requests_total` (route `unmatched`, method `unknown`: neither is known yet), and
 * closes the connection, as Fastify's default does.
 */
export function clientErrorHandler(metrics: IngestMetrics) {
  return (err: NodeJS.ErrnoException, socket: Socket): void => {
    // A reset connection has no one to answer (see Node's `clientError` event).
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const answer = (err.code === undefined ? undefined : ANSWERS[err.code]) ?? MALFORMED;
    if (socket.writable) {
      const body = JSON.stringify({ error: answer.error });
      socket.write(
        `HTTP/1.1 ${answer.status} ${answer.reason}\r\n` +
          'Content-Type: application/json; charset=utf-8\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\n` +
          'X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n' +
          body,
      );
      metrics.requests.inc({ route: 'unmatched', method: 'unknown', status: answer.status });
    }
    socket.destroy(err);
  };
}
