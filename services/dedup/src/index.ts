export { buildApp, type DedupApp, type DedupCounts, type DedupOverrides, releaseConsumerName } from './app.ts';
export { type Claim, type ClaimResult, type ClaimStore, claimKey, markForwarded, type StoredClaim } from './claims.ts';
export { type DedupConfig, loadConfig } from './config.ts';
export { type DedupDeps, handleVerified, type VerifiedMessage } from './handler.ts';
export { type IdempotencyKey, idempotencyKey, kvKey } from './key.ts';
export { KvClaimStore } from './kv-claims.ts';
export {
  type ClaimReleaser,
  RELEASING_STAGES,
  type ReleaseDeps,
  type ReleaseOptions,
  type ReleaseResult,
  releaseDeadLetter,
} from './release.ts';
