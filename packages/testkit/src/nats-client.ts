import { connectNats, createLogger, type NatsHandle } from '@hookstream/runtime';

/** A NATS connection for a test's own reads and writes (silent logger); `url` may list a cluster's nodes comma-separated. Drain it in `after`. */
export function connectTestNats(url: string): Promise<NatsHandle> {
  return connectNats(
    { natsServers: url.split(','), natsUser: undefined, natsPassword: undefined, natsToken: undefined, service: 'test' },
    createLogger({ service: 'test', level: 'silent' }),
  );
}
