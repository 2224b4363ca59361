import { z } from 'zod';
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
   * When set, a comma-separated CIDR list: deliveries go only to addresses inside it.
   * Link-local addresses (169.254.0.0/16, fe80::/10) are refused whatever it says. Unset: any
   * other address.
   */
  DELIVERY_ALLOWED_NETWORKS: z.string().optional(),
  /** How often an idle sender looks for due deliveries, ms. Default 50. */
  DELIVERY_POLL_MS: z.coerce.number().int().positive().max(60_000).default(50),
});
export type DeliveryEnv = z.infer<typeof DeliveryEnv>;
