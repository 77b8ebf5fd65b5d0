export { buildApp, type DeliverApp, type DeliverCounts, type DeliverOverrides } from './app.ts';
export { type DeliverConfig, loadConfig } from './config.ts';
export type { HttpSender, SendRequest, SendResult } from './http-client.ts';
export type { ResolvedAddress, Resolver } from './ssrf.ts';
