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

/**
 * Standard Webhooks (https://www.standardwebhooks.com/, also Svix): `webhook-signature` holds
 * space-separated `v1,<base64 HMAC-SHA256>` entries over `<webhook-id>.<webhook-timestamp>.<body>`,
 * keyed by the base64 part of a `whsec_` secret. Several entries let a sender sign with an old
 * and a new secret while rotating.
 */
export function standardWebhooksVerifier(options: {
  secrets: readonly string[];
  toleranceSeconds: number;
}): SignatureVerifier {
  const keys = options.secrets.map((secret) =>
    Buffer.from(secret.replace(/^whsec_/, ''), 'base64'),
  );
  return {
    verify({ rawBody, headers, nowMs }) {
      const id = headerOf(headers, 'webhook-id');
      const timestamp = headerOf(headers, 'webhook-timestamp');
      const signature = headerOf(headers, 'webhook-signature');
      if (id === undefined || timestamp === undefined || signature === undefined) {
        return refused('missing_signature');
      }
      const timestampSeconds = parseUnixSeconds(timestamp);
      const signatures = v1Signatures(signature);
      if (timestampSeconds === undefined || signatures.length === 0) {
        return refused('malformed_signature');
      }
      if (
        !withinTolerance({ timestampSeconds, nowMs, toleranceSeconds: options.toleranceSeconds })
      ) {
        return refused('timestamp_out_of_tolerance');
      }
      for (const key of keys) {
        const expected = hmacSha256(key, [`${id}.${timestamp}.`, rawBody]);
        if (matchesAny(expected, signatures)) return VALID;
      }
      return refused('signature_mismatch');
    },
  };
}

/** The `v1` entries of the header, decoded; other versions (e.g. asymmetric `v1a`) are skipped. */
function v1Signatures(header: string): Buffer[] {
  return header.split(' ').flatMap((entry) => {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') return [];
    return [Buffer.from(entry.slice(comma + 1), 'base64')];
  });
}
