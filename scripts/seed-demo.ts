import { SourceStore } from '@hookstream/models';
// Writes the `demo` source used by the README's curl example (idempotent).
import { connectNats, createLogger, openBucket, topology } from '@hookstream/runtime';

const logger = createLogger({ service: 'seed', level: 'warn' });
const nats = await connectNats(
  {
    natsServers: [process.env.HS_NATS_URL ?? 'nats://127.0.0.1:4222'],
    natsUser: undefined,
    natsPassword: undefined,
    natsToken: undefined,
    service: 'seed',
  },
  logger,
);
const t = topology(process.env.HS_NAMESPACE ?? '');
const kv = await openBucket(nats.nc, t.buckets.sources, { replicas: 1 });
await new SourceStore(kv).put({
  id: 'demo',
  scheme: { kind: 'none' },
  description: 'unsigned demo source for local use',
  rateLimit: { perSecond: 1000, burst: 2000 },
});
console.log('[up] source "demo" configured');
await nats.drain();
