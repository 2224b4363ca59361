import type { IncomingHttpHeaders } from 'node:http';
import {
  hmacSha256,
  matchesAny,
  refused,
  type SignatureFailure,
  type SignatureVerifier,
  VALID,
  withinTolerance,
} from './signature-verifier.js';

/** A source's settings for a scheme that signs a timestamp. */
export interface TimestampedSchemeOptions {
  secrets: readonly string[];
  /** Furthest the signed timestamp may be from now. */
  toleranceSeconds: number;
}

/** What a timestamped scheme finds in a request's headers. */
export interface TimestampedSignatures {
  /** Signed before the body: the timestamp exactly as sent, and whatever else the scheme signs. */
  signedPrefix: string;
  timestampSeconds: number;
  /** The signatures sent, decoded; one of them must match. */
  signatures: readonly Buffer[];
}

/**
 * What Stripe's scheme and Standard Webhooks share: HMAC-SHA256 of a prefix holding a signed
 * timestamp, then the body. Refused when the timestamp is further from now than the tolerance
 * (a replayed request), or when no signature matches under any of the keys (several while a
 * secret is rotated).
 */
export function timestampedHmacVerifier(options: {
  keys: readonly Buffer[];
  toleranceSeconds: number;
  /** The request's signatures, or why its headers are missing or malformed. */
  read: (headers: IncomingHttpHeaders) => TimestampedSignatures | SignatureFailure;
}): SignatureVerifier {
  const { keys, toleranceSeconds } = options;
  return {
    verify({ rawBody, headers, nowMs }) {
      const read = options.read(headers);
      if (typeof read === 'string') return refused(read);
      const { signedPrefix, timestampSeconds, signatures } = read;
      if (!withinTolerance({ timestampSeconds, nowMs, toleranceSeconds })) {
        return refused('timestamp_out_of_tolerance');
      }
      for (const key of keys) {
        if (matchesAny(hmacSha256(key, [signedPrefix, rawBody]), signatures)) return VALID;
      }
      return refused('signature_mismatch');
    },
  };
}
