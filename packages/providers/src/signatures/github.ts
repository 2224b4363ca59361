import {
  headerOf,
  hmacSha256,
  matchesAny,
  refused,
  type SignatureVerifier,
  VALID,
} from './signature-verifier.js';

const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

/**
 * GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`, keyed by the webhook's
 * secret. GitHub signs no timestamp, so there is no tolerance to check; the legacy SHA-1
 * `X-Hub-Signature` is not accepted.
 */
export function githubVerifier(options: { secrets: readonly string[] }): SignatureVerifier {
  const keys = options.secrets.map((secret) => Buffer.from(secret, 'utf8'));
  return {
    verify({ rawBody, headers }) {
      const header = headerOf(headers, 'x-hub-signature-256');
      if (header === undefined) return refused('missing_signature');
      const hex = SIGNATURE.exec(header)?.[1];
      if (hex === undefined) return refused('malformed_signature');
      const signature = Buffer.from(hex, 'hex');
      for (const key of keys) {
        if (matchesAny(hmacSha256(key, [rawBody]), [signature])) return VALID;
      }
      return refused('signature_mismatch');
    },
  };
}
