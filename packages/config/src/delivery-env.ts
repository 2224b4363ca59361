import { z } from 'zod';
import { parseCidr } from './cidr.js';
import { emptyIsAValue } from './parse-env.js';

const ROLES = ['store', 'deliver'] as const;
export type ConsumerRole = (typeof ROLES)[number];

/**
 * What one consumer process does: `store` takes messages from the queue, stores them and
 * publishes them to the events exchange; `deliver` sends stored events to subscriptions.
 * Both by default; run them in separate processes to scale them apart.
 */
const roles = z
  .string()
  .default('store,deliver')
  .transform((text, ctx) => {
    const names = text
      .split(',')
      .map((name) => name.trim())
      .filter((name) => name !== '');
    const unknown = names.filter((name) => !(ROLES as readonly string[]).includes(name));
    if (names.length === 0 || unknown.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `a comma-separated list of ${ROLES.join(', ')} (got "${text}")`,
      });
      return z.NEVER;
    }
    return new Set(names as ConsumerRole[]);
  });

const networkList = z.string().transform((text, ctx) => {
  if (text.trim() === '') return undefined;
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const bad = entries.filter((entry) => parseCidr(entry) === undefined);
  if (entries.length === 0 || bad.length > 0) {
    ctx.addIssue({
      code: 'custom',
      message:
        entries.length === 0
          ? `a comma-separated list of CIDRs such as 10.0.0.0/8 (got "${text}")`
          : `not a CIDR such as 10.0.0.0/8 or fd00::/8: ${bad.map((entry) => `"${entry}"`).join(', ')}`,
    });
    return z.NEVER;
  }
  return entries;
});

/** Delivery of stored events to subscriptions and to the events exchange (consumer). */
export const DeliveryEnv = z.object({
  /** `store`, `deliver` or both, comma-separated. Default both. */
  CONSUMER_ROLES: roles,
  /**
   * The durable topic exchange every stored event is also published to (routing key
   * `<source>.<type>`); empty: none. Default `webhooks.events`.
   */
  EVENTS_EXCHANGE: emptyIsAValue(z.string().max(255).default('webhooks.events')),
  /**
   * When set, a comma-separated CIDR list: deliveries go only to addresses inside it (the
   * resolved address, checked at connect time). Link-local addresses (169.254.0.0/16,
   * fe80::/10) are refused whatever it says. Unset or empty: any other address. An entry that is
   * not a CIDR fails start-up.
   */
  DELIVERY_ALLOWED_NETWORKS: networkList.optional(),
  /** How often an idle sender looks for due deliveries, ms. Default 50. */
  DELIVERY_POLL_MS: z.coerce.number().int().positive().max(60_000).default(50),
  /**
   * A claimed delivery is leased for its subscription's `timeoutMs` plus this margin, ms: time
   * to record the outcome after the answer. When a process dies, its leased deliveries are sent
   * again (by any process) once their lease ends. Shorter resends sooner after a crash; too
   * short, and a live process whose recording is slow (the database away) sees another send the
   * same delivery again meanwhile, a duplicate. Default 30000.
   */
  DELIVERY_LEASE_MARGIN_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  /**
   * After this many failed attempts to one subscription in a row (none delivered between), a
   * sender backs off from its destination: one probe at a time instead of every delivery that
   * comes due, the waiting deliveries keeping their retries; the first delivered attempt ends
   * it. Default 10.
   */
  DELIVERY_BACKOFF_AFTER_FAILURES: z.coerce.number().int().min(1).max(1_000_000).default(10),
  /**
   * The longest wait between two probes of a destination backed off from, ms; the wait starts
   * at 1 s (or this, when shorter) and doubles with every failed probe. Default 60000.
   */
  DELIVERY_BACKOFF_MAX_MS: z.coerce.number().int().positive().max(3_600_000).default(60_000),
  /**
   * A subscription whose every attempt failed for this long is paused, with the reason on it,
   * until an operator resumes it, ms. Checked every minute (every quarter of it when shorter).
   * 0: never. Default 86400000 (24 h).
   */
  DELIVERY_AUTO_PAUSE_AFTER_MS: z.coerce
    .number()
    .int()
    .min(0)
    .max(2_592_000_000)
    .default(86_400_000),
});
export type DeliveryEnv = z.infer<typeof DeliveryEnv>;
