export { FORM_MEDIA_TYPE } from './form-body.js';
export { ProviderSourcesEnv } from './provider-sources-env.js';
export {
  type ProviderRequest,
  type ProviderSources,
  type ProviderVerification,
  providerVerifier,
  type VerifyProviderRequest,
} from './provider-verification.js';
export { WebhookSources } from './signatures/webhook-sources.js';
