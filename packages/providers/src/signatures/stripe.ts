import { headerOf, parseUnixSeconds, type SignatureVerifier } from './signature-verifier.js';
import {
  type TimestampedSchemeOptions,
  type TimestampedSignatures,
  timestampedHmacVerifier,
} from './timestamped-hmac.js';

const HEX_SHA256 = /^[0-9a-fA-F]{64}$/;

/**
 * Stripe: `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">[,v1=…]`,
 * keyed by the whole endpoint secret (`whsec_…`, prefix included). Several `v1` entries appear
 * while Stripe rolls an endpoint secret; `v0` (test-mode legacy) entries are ignored.
 */
export function stripeVerifier(options: TimestampedSchemeOptions): SignatureVerifier {
  return timestampedHmacVerifier({
    keys: options.secrets.map((secret) => Buffer.from(secret, 'utf8')),
    toleranceSeconds: options.toleranceSeconds,
    read: (headers) => {
      const header = headerOf(headers, 'stripe-signature');
      if (header === undefined) return 'missing_signature';
      return parseStripeSignature(header) ?? 'malformed_signature';
    },
  });
}

function parseStripeSignature(header: string): TimestampedSignatures | undefined {
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
  // `t` exactly as sent: it is part of the signed text.
  return { signedPrefix: `${timestamp}.`, timestampSeconds, signatures };
}
