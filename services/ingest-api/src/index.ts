// What other parts of the workspace reuse of the ingest API: `pnpm rejected:replay` admits a
// kept request with the very code that refused it, and publishes it the way the API does.
export { eventMessage } from './event-publisher.js';
export {
  type AdmitProviderRequest,
  type ProviderAdmission,
  type ProviderRequest,
  type ProviderSources,
  providerAdmission,
} from './provider-admission.js';
