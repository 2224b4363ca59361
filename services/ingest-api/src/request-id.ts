import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Printable ASCII without spaces, bounded: safe to log and to pass on in AMQP headers. */
const ACCEPTABLE_REQUEST_ID = /^[\x21-\x7e]{1,128}$/;

/** The caller's `x-request-id` when it is reasonable, a fresh UUID otherwise. */
export function requestIdOf(request: IncomingMessage): string {
  const sent = request.headers['x-request-id'];
  if (typeof sent === 'string' && ACCEPTABLE_REQUEST_ID.test(sent)) return sent;
  return randomUUID();
}
