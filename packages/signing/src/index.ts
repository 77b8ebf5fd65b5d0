export { SchemeConfigError } from './errors.ts';
export { type Locator, locate, PROVIDER_PRESETS, type ProviderName, type ProviderPreset, parseLocator } from './presets.ts';
export { parseSchemeConfig } from './scheme-config.ts';
export { signStandardWebhooks } from './standard-webhooks.ts';
export type { HmacAlgorithm, RejectionReason, SchemeConfig, Secret, VerifyInput, VerifyResult } from './types.ts';
export { verifySignature } from './verify.ts';
