import { headerOf, parseUnixSeconds, type SignatureVerifier } from './signature-verifier.js';
import { type TimestampedSchemeOptions, timestampedHmacVerifier } from './timestamped-hmac.js';

/**
 * Standard Webhooks (https://www.standardwebhooks.com/, also Svix): `webhook-signature` holds
 * space-separated `v1,<base64 HMAC-SHA256>` entries over `<webhook-id>.<webhook-timestamp>.<body>`,
 * keyed by the base64 part of a `whsec_` secret. Several entries let a sender sign with an old
 * and a new secret while rotating.
 */
export function standardWebhooksVerifier(options: TimestampedSchemeOptions): SignatureVerifier {
  return timestampedHmacVerifier({
    keys: options.secrets.map((secret) => Buffer.from(secret.replace(/^whsec_/, ''), 'base64')),
    toleranceSeconds: options.toleranceSeconds,
    read: (headers) => {
      const id = headerOf(headers, 'webhook-id');
      const timestamp = headerOf(headers, 'webhook-timestamp');
      const signature = headerOf(headers, 'webhook-signature');
      if (id === undefined || timestamp === undefined || signature === undefined) {
        return 'missing_signature';
      }
      const timestampSeconds = parseUnixSeconds(timestamp);
      const signatures = v1Signatures(signature);
      if (timestampSeconds === undefined || signatures.length === 0) {
        return 'malformed_signature';
      }
      return { signedPrefix: `${id}.${timestamp}.`, timestampSeconds, signatures };
    },
  });
}

/** The `v1` entries of the header, decoded; other versions (e.g. asymmetric `v1a`) are skipped. */
function v1Signatures(header: string): Buffer[] {
  return header.split(' ').flatMap((entry) => {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') return [];
    return [Buffer.from(entry.slice(comma + 1), 'base64')];
  });
}
