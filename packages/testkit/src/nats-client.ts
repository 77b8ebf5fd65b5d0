import { connectNats, createLogger, type NatsHandle } from '@hookstream/runtime';

/** A NATS connection for a test's own reads and writes (silent logger). Drain it in `after`. */
export function connectTestNats(url: string): Promise<NatsHandle> {
  return connectNats(
    { natsServers: [url], natsUser: undefined, natsPassword: undefined, natsToken: undefined, service: 'test' },
    createLogger({ service: 'test', level: 'silent' }),
  );
}
