import { Rfc3339 } from '@webhooks/contracts';
import type { KeysetPosition } from '@webhooks/db';
import { z } from 'zod';

const Position = z.tuple([Rfc3339, z.uuid()]);

/**
 * The cursor of every paged list (`/events`, `/dead-letters`, `/rejected`): the last row's
 * position, base64url-encoded. Opaque to clients.
 */
export function encodeCursor(position: KeysetPosition): string {
  return Buffer.from(JSON.stringify([position.at, position.id])).toString('base64url');
}

export function decodeCursor(cursor: string): KeysetPosition | undefined {
  try {
    const parsed = Position.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString()));
    return parsed.success ? { at: parsed.data[0], id: parsed.data[1] } : undefined;
  } catch {
    return undefined;
  }
}

export const INVALID_CURSOR = {
  error: 'invalid_query',
  issues: [{ path: 'cursor', message: 'not a cursor returned by this API' }],
};

const NamePosition = z.tuple([z.string()]);

/** The cursor of a list ordered by a unique name (`/subscriptions`): the last row's name. */
export function encodeNameCursor(name: string): string {
  return Buffer.from(JSON.stringify([name])).toString('base64url');
}

export function decodeNameCursor(cursor: string): string | undefined {
  try {
    const parsed = NamePosition.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString()));
    return parsed.success ? parsed.data[0] : undefined;
  } catch {
    return undefined;
  }
}
