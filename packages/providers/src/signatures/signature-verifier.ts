import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** What a verifier looks at: the body exactly as received, the headers, and the time. */
export interface SignedRequest {
  rawBody: Buffer;
  headers: IncomingHttpHeaders;
  /** Now, in ms since the epoch, for timestamp tolerance. */
  nowMs: number;
}

/**
 * Why a request was refused. Logged for the operator; the client only ever sees
 * `invalid_signature`, so a forger learns nothing about which check failed.
 */
export type SignatureFailure =
  /** A header the scheme requires is absent. */
  | 'missing_signature'
  /** The headers are present but not in the scheme's format. */
  | 'malformed_signature'
  /** The signed timestamp is further from now than the tolerance (replay or clock skew). */
  | 'timestamp_out_of_tolerance'
  /** No signature matches any of the source's secrets. */
  | 'signature_mismatch';

export type VerificationResult = { valid: true } | { valid: false; reason: SignatureFailure };

/** One signature scheme, configured with a source's secrets. */
export interface SignatureVerifier {
  verify(request: SignedRequest): VerificationResult;
}

export const VALID: VerificationResult = { valid: true };
export const refused = (reason: SignatureFailure): VerificationResult => ({ valid: false, reason });

/** A header's value when it was sent once (Node joins repeated ones with ", "). */
export function headerOf(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** HMAC-SHA256 of the parts, in order, under `key`. */
export function hmacSha256(key: Buffer, parts: ReadonlyArray<string | Buffer>): Buffer {
  const hmac = createHmac('sha256', key);
  for (const part of parts) hmac.update(part);
  return hmac.digest();
}

/**
 * True when one of `candidates` equals `expected`, compared in constant time so that response
 * times reveal nothing about how much of a forged signature was right.
 */
export function matchesAny(expected: Buffer, candidates: readonly Buffer[]): boolean {
  let matched = false;
  for (const candidate of candidates) {
    // Lengths are public (a SHA-256 digest is 32 bytes); timingSafeEqual needs them equal.
    if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) {
      matched = true;
    }
  }
  return matched;
}

/** Whether a signed Unix timestamp (seconds) lies within `toleranceSeconds` of now. */
export function withinTolerance(options: {
  timestampSeconds: number;
  nowMs: number;
  toleranceSeconds: number;
}): boolean {
  return Math.abs(options.nowMs / 1000 - options.timestampSeconds) <= options.toleranceSeconds;
}

/** Unix seconds as providers send them: digits only, no sign, no fraction. */
export function parseUnixSeconds(value: string): number | undefined {
  return /^\d{1,12}$/.test(value) ? Number(value) : undefined;
}
