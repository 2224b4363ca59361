import { describe, expect, it } from 'vitest';
import {
  generateSubscriptionSecret,
  SubscriptionSecret,
} from '../src/delivery/subscription-secret.js';

const secretOf = (bytes: number) => `whsec_${Buffer.alloc(bytes, 0xa5).toString('base64')}`;

describe('subscription secrets', () => {
  it('generates whsec_ + the base64 of 32 random bytes, each time another', () => {
    const secrets = new Set(Array.from({ length: 50 }, generateSubscriptionSecret));
    expect(secrets.size).toBe(50);
    for (const secret of secrets) {
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
      expect(SubscriptionSecret.safeParse(secret).success).toBe(true);
    }
  });

  it.each([24, 25, 26, 48, 64])('takes a key of %i bytes', (bytes) => {
    expect(SubscriptionSecret.safeParse(secretOf(bytes)).success).toBe(true);
  });

  it.each([
    ['a key of 23 bytes', secretOf(23)],
    ['a key of 65 bytes', secretOf(65)],
    ['no prefix', secretOf(32).slice(6)],
    ['another prefix', `whsek_${secretOf(32).slice(6)}`],
    ['base64url', `whsec_${Buffer.alloc(32, 0xff).toString('base64url')}`],
    ['missing padding', secretOf(25).replace(/=+$/, '')],
    ['unused bits set', `whsec_${'A'.repeat(32)}AR==`],
    ['white space', ` ${secretOf(32)}`],
    ['nothing after the prefix', 'whsec_'],
  ])('refuses %s', (_case, secret) => {
    expect(SubscriptionSecret.safeParse(secret).success).toBe(false);
  });
});
