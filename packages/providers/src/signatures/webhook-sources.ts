import { z } from 'zod';

const SOURCE_NAME_RULE =
  '1 to 100 letters, digits, ".", "_" or "-", starting with a letter or digit';

/**
 * A source's name in `WEBHOOK_SOURCES` and in `POST /webhook/:source`. URL-safe so the name in
 * the path is the name stored, with no decoding or trimming in between; at most 100 characters
 * because that is the longest path parameter Fastify matches by default (`maxParamLength`).
 */
export const SourceName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, { error: `expected ${SOURCE_NAME_RULE}` });

/** Standard Webhooks secrets are `whsec_` + base64; the prefix is optional, as in its libraries. */
const STANDARD_SECRET = /^(?:whsec_)?[A-Za-z0-9+/]+={0,2}$/;

/** Seconds a signed timestamp may be away from now; 5 minutes, as the providers recommend. */
const DEFAULT_TOLERANCE_SECONDS = 300;

const secretFields = {
  /** The signing secret. */
  secret: z.string().min(1).optional(),
  /** Several secrets, any of which verifies: rotation without refused deliveries. */
  secrets: z.array(z.string().min(1)).min(1).max(10).optional(),
};
const toleranceSeconds = z.number().int().positive().max(86_400).default(DEFAULT_TOLERANCE_SECONDS);

const SourceInput = z.discriminatedUnion('scheme', [
  z.strictObject({ scheme: z.literal('standard'), ...secretFields, toleranceSeconds }),
  z.strictObject({ scheme: z.literal('github'), ...secretFields }),
  z.strictObject({ scheme: z.literal('stripe'), ...secretFields, toleranceSeconds }),
  z.strictObject({ scheme: z.literal('none') }),
]);

/**
 * How one source's requests are verified. `secret` and `secrets` are normalised to `secrets`;
 * error messages never contain a secret, since they end up in the start-up log.
 */
export const WebhookSource = SourceInput.transform((input, ctx) => {
  if (input.scheme === 'none') return input;
  const { secret, secrets: list, ...rest } = input;
  if (secret !== undefined && list !== undefined) {
    ctx.addIssue({ code: 'custom', message: 'set "secret" or "secrets", not both' });
    return z.NEVER;
  }
  const secrets = list ?? (secret === undefined ? [] : [secret]);
  if (secrets.length === 0) {
    ctx.addIssue({
      code: 'custom',
      message: `scheme "${input.scheme}" needs "secret" or "secrets"`,
    });
    return z.NEVER;
  }
  secrets.forEach((value, index) => {
    const path = list === undefined ? ['secret'] : ['secrets', index];
    if (input.scheme === 'standard' && !isStandardSecret(value)) {
      ctx.addIssue({ code: 'custom', path, message: 'expected "whsec_" followed by base64' });
    }
    // Stripe endpoint secrets always start so; an API key pasted here would never verify.
    if (input.scheme === 'stripe' && !value.startsWith('whsec_')) {
      ctx.addIssue({
        code: 'custom',
        path,
        message: 'expected a Stripe endpoint secret (whsec_…)',
      });
    }
  });
  return { ...rest, secrets };
});
export type WebhookSource = z.infer<typeof WebhookSource>;

function isStandardSecret(value: string): boolean {
  const base64 = value.replace(/^whsec_/, '').replace(/=+$/, '');
  return STANDARD_SECRET.test(value) && base64.length % 4 !== 1;
}

/**
 * The sources of `POST /webhook/:source` (`WEBHOOK_SOURCES`): source name to its scheme and
 * secrets, e.g. `{"github":{"scheme":"github","secret":"…"},"acme":{"scheme":"none"}}`.
 */
export const WebhookSources = z.record(SourceName, WebhookSource, {
  error: (issue) => {
    if (issue.code === 'invalid_key') return `bad source name: ${SOURCE_NAME_RULE}`;
    if (issue.code === 'invalid_type') return 'expected a JSON object';
    return undefined;
  },
});
export type WebhookSources = z.infer<typeof WebhookSources>;
