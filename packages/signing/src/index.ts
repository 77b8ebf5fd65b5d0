export { SchemeConfigError, SigningError } from './errors.ts';
export { type Locator, locate, PROVIDER_PRESETS, type ProviderName, type ProviderPreset, parseLocator } from './presets.ts';
export { parseSchemeConfig } from './scheme-config.ts';
export { generateStandardWebhooksSecret, signStandardWebhooks } from './standard-webhooks.ts';
export {
  DEFAULT_TOLERANCE_SECONDS,
  type HmacAlgorithm,
  type RejectionReason,
  type SchemeConfig,
  type Secret,
  type VerifyInput,
  type VerifyResult,
} from './types.ts';
export { verifySignature } from './verify.ts';
