import { createHmac } from 'node:crypto';

/** The prefix of a Standard Webhooks secret; the rest is the key, base64. */
const SECRET_PREFIX = 'whsec_';
/** Decoded keys kept; far more than the secrets of every subscription, so nearly never cleared. */
const MAX_CACHED_KEYS = 10_000;
const keys = new Map<string, Buffer>();

/** A secret that yields no key: signing with it would sign with nothing. */
export class InvalidSecretError extends Error {
  readonly code = 'SECRET_INVALID';
  override name = 'InvalidSecretError';
}

export interface SignWebhookOptions {
  /** The `webhook-id` header: `msg_` + the delivery's event row id, the same on every attempt. */
  webhookId: string;
  /** The `webhook-timestamp` header, whole seconds since the epoch. */
  timestampSeconds: number;
  /** The body exactly as sent. */
  body: string;
  /**
   * `whsec_<base64 key>` secrets, current first; several while a rotated-out secret is still
   * valid, so receivers holding either one verify.
   */
  secrets: readonly string[];
}

/**
 * The `webhook-signature` header of Standard Webhooks: `v1,<base64 HMAC-SHA256>` of
 * `<id>.<timestamp>.<body>` per secret, separated by spaces. Throws `InvalidSecretError` for an
 * empty list or a secret without a key.
 */
export function signWebhook({
  webhookId,
  timestampSeconds,
  body,
  secrets,
}: SignWebhookOptions): string {
  if (secrets.length === 0) throw new InvalidSecretError('no secret to sign with');
  const signedPrefix = `${webhookId}.${timestampSeconds}.`;
  let header = '';
  for (const secret of secrets) {
    const signature = createHmac('sha256', keyOf(secret))
      .update(signedPrefix)
      .update(body)
      .digest('base64');
    header = header === '' ? `v1,${signature}` : `${header} v1,${signature}`;
  }
  return header;
}

function keyOf(secret: string): Buffer {
  let key = keys.get(secret);
  if (key !== undefined) return key;
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret;
  key = Buffer.from(encoded, 'base64');
  if (key.length === 0) {
    throw new InvalidSecretError('the secret holds no key (expected whsec_ and base64)');
  }
  if (keys.size >= MAX_CACHED_KEYS) keys.clear();
  keys.set(secret, key);
  return key;
}
