import { MSG_ID_HEADER, type RecordKind, type RecordOf, recordMsgId } from '@hookstream/contracts';
import { headers as newHeaders } from '@nats-io/transport-node';
import type { AckingPublisher } from './publisher.ts';
import type { Topology } from './topology.ts';

/**
 * Publishes analytics records (JSON) on `hs.obs.{kind}`, waiting for
 * JetStream's ack. Each record's shape is the contracts' `RecordOf<kind>`, so
 * a producer and the analytics sink cannot disagree on it.
 */
export class ObsPublisher {
  readonly #publisher: AckingPublisher;
  readonly #topology: Topology;
  readonly #encoder = new TextEncoder();

  constructor(publisher: AckingPublisher, topology: Topology) {
    this.#publisher = publisher;
    this.#topology = topology;
  }

  /**
   * Publishes `record` on `hs.obs.{kind}` with `Nats-Msg-Id` `msgId`
   * (by default the contracts' `recordMsgId`, so a repeated record — a
   * retried step — counts once). Resolves once stored; rejects with
   * PublishError / PublishTimeoutError.
   */
  async record<K extends RecordKind>(kind: K, record: RecordOf<K>, msgId: string = recordMsgId(kind, record)): Promise<void> {
    const h = newHeaders();
    h.set(MSG_ID_HEADER, msgId);
    h.set('content-type', 'application/json');
    await this.#publisher.publish(this.#topology.obs(kind), this.#encoder.encode(JSON.stringify(record)), h);
  }
}
