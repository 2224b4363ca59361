import {
  headerOf,
  hmacSha256,
  matchesAny,
  parseUnixSeconds,
  refused,
  type SignatureVerifier,
  VALID,
  withinTolerance,
} from './signature-verifier.js';

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

/**
 * Stripe: `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">[,v1=…]`,
 * keyed by the whole endpoint secret (`whsec_…`, prefix included). Several `v1` entries appear
 * while Stripe rolls an endpoint secret; `v0` (test-mode legacy) entries are ignored.
 */
export function stripeVerifier(options: {
  secrets: readonly string[];
  toleranceSeconds: number;
}): SignatureVerifier {
  const keys = options.secrets.map((secret) => Buffer.from(secret, 'utf8'));
  return {
    verify({ rawBody, headers, nowMs }) {
      const header = headerOf(headers, 'stripe-signature');
      if (header === undefined) return refused('missing_signature');
      const parsed = parseStripeSignature(header);
      if (parsed === undefined) return refused('malformed_signature');
      const { timestamp, timestampSeconds, signatures } = parsed;
      if (
        !withinTolerance({ timestampSeconds, nowMs, toleranceSeconds: options.toleranceSeconds })
      ) {
        return refused('timestamp_out_of_tolerance');
      }
      for (const key of keys) {
        const expected = hmacSha256(key, [`${timestamp}.`, rawBody]);
        if (matchesAny(expected, signatures)) return VALID;
      }
      return refused('signature_mismatch');
    },
  };
}

interface StripeSignature {
  /** `t` exactly as sent: it is part of the signed text. */
  timestamp: string;
  timestampSeconds: number;
  signatures: Buffer[];
}

function parseStripeSignature(header: string): StripeSignature | undefined {
  let timestamp: string | undefined;
  const signatures: Buffer[] = [];
  for (const pair of header.split(',')) {
    const equals = pair.indexOf('=');
    if (equals < 0) return undefined;
    const key = pair.slice(0, equals).trim();
    const value = pair.slice(equals + 1).trim();
    if (key === 't') {
      // Two timestamps would make "which one was signed" ambiguous.
      if (timestamp !== undefined) return undefined;
      timestamp = value;
    } else if (key === 'v1' && HEX_SHA256.test(value)) {
      signatures.push(Buffer.from(value, 'hex'));
    }
  }
  const timestampSeconds = timestamp === undefined ? undefined : parseUnixSeconds(timestamp);
  if (timestamp === undefined || timestampSeconds === undefined || signatures.length === 0) {
    return undefined;
  }
  return { timestamp, timestampSeconds, signatures };
}
