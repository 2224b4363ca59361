import { githubVerifier } from './github.js';
import { type SignatureVerifier, VALID } from './signature-verifier.js';
import { standardWebhooksVerifier } from './standard-webhooks.js';
import { stripeVerifier } from './stripe.js';
import type { WebhookSource } from './webhook-sources.js';

/** Accepts every request: for sources the operator declared unsigned (`"scheme":"none"`). */
export const unsignedVerifier: SignatureVerifier = { verify: () => VALID };

/** The verifier of a configured source's scheme, holding its secrets. */
export function verifierForSource(source: WebhookSource): SignatureVerifier {
  switch (source.scheme) {
    case 'standard':
      return standardWebhooksVerifier(source);
    case 'github':
      return githubVerifier(source);
    case 'stripe':
      return stripeVerifier(source);
    case 'none':
      return unsignedVerifier;
  }
}
