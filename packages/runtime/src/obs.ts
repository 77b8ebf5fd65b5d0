import { headers as newHeaders } from '@nats-io/transport-node';
import type { AckingPublisher } from './publisher.ts';
import type { Topology } from './topology.ts';

/**
 * Publishes analytics records (JSON) on `hs.obs.{kind}`, waiting for
 * JetStream's ack. `msgId` makes a repeated record (a retried step) count once.
 */
export class ObsPublisher {
  readonly #publisher: AckingPublisher;
  readonly #topology: Topology;
  readonly #encoder = new TextEncoder();

  constructor(publisher: AckingPublisher, topology: Topology) {
    this.#publisher = publisher;
    this.#topology = topology;
  }

  /** Resolves once stored; rejects with PublishError / PublishTimeoutError. */
  async record(kind: string, record: object, msgId: string): Promise<void> {
    const h = newHeaders();
    h.set('Nats-Msg-Id', msgId);
    h.set('content-type', 'application/json');
    await this.#publisher.publish(this.#topology.obs(kind), this.#encoder.encode(JSON.stringify(record)), h);
  }
}
