import { randomBytes } from 'node:crypto';
import { z } from 'zod';

/** Standard Webhooks' prefix of a signing secret; what follows is the key in base64. */
const PREFIX = 'whsec_';
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;
/** The size of a generated key: HMAC-SHA256's block is 64 bytes, its output 32. */
const GENERATED_KEY_BYTES = 32;

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * A subscription's signing secret: `whsec_` + the standard base64 of a 24 to 64 byte key. Only
 * canonical base64 is taken, so the text a receiver holds decodes to exactly the key signed with.
 */
export const SubscriptionSecret = z
  .string()
  .max(PREFIX.length + 4 * Math.ceil(MAX_KEY_BYTES / 3))
  .refine(isSubscriptionSecret, {
    message: `must be '${PREFIX}' followed by the base64 of ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} random bytes`,
  })
  .meta({
    description: `'${PREFIX}' + base64 of ${MIN_KEY_BYTES}..${MAX_KEY_BYTES} random bytes (Standard Webhooks)`,
    examples: ['whsec_XgeSXZ12Z+YdwUDSydvwLH+Be72vP07I'],
  });

function isSubscriptionSecret(secret: string): boolean {
  if (!secret.startsWith(PREFIX)) return false;
  const base64 = secret.slice(PREFIX.length);
  if (!BASE64.test(base64)) return false;
  const key = Buffer.from(base64, 'base64');
  return (
    key.length >= MIN_KEY_BYTES && key.length <= MAX_KEY_BYTES && key.toString('base64') === base64
  );
}

/** A new secret of 32 random bytes. */
export function generateSubscriptionSecret(): string {
  return `${PREFIX}${randomBytes(GENERATED_KEY_BYTES).toString('base64')}`;
}
