import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { backoffDelay } from '../src/consume.ts';
import {
  CONSUMER_DEFAULTS,
  ConsumerOptionsError,
  deadLetterStream,
  deadLetterSubject,
  filterSubjects,
  resolveConsumerConfig,
} from '../src/consumer.ts';

describe('consumer settings', () => {
  it('filterSubjects: every event, sources × types, wildcards', () => {
    assert.deepEqual(filterSubjects(undefined, undefined), ['events.>']);
    assert.deepEqual(filterSubjects(['stripe'], undefined), ['events.stripe.>']);
    assert.deepEqual(filterSubjects(undefined, ['payment_intent.*']), ['events.*.payment_intent.*']);
    assert.deepEqual(filterSubjects(['stripe', 'github'], ['a.>', 'push'], 'ns'), [
      'ns.events.stripe.a.>',
      'ns.events.stripe.push',
      'ns.events.github.a.>',
      'ns.events.github.push',
    ]);
  });

  it('filterSubjects: a bad source or type pattern is refused', () => {
    for (const [sources, types] of [[['a.b']], [['']], [undefined, ['a.>.b']], [undefined, ['a b']], [undefined, ['a..b']]] as const) {
      assert.throws(() => filterSubjects(sources, types), ConsumerOptionsError);
    }
  });

  it('resolveConsumerConfig: the defaults, deliver policy new, explicit ack, metadata for consume', () => {
    const r = resolveConsumerConfig({ team: 'billing', sources: ['stripe'] });
    assert.equal(r.stream, 'HS_EVENTS');
    assert.equal(r.name, 'billing');
    assert.equal(r.deadLetterSubject, 'teams.billing.dlq');
    assert.equal(r.config.ack_policy, AckPolicy.Explicit);
    assert.equal(r.config.deliver_policy, DeliverPolicy.New);
    assert.equal(r.config.ack_wait, nanos(CONSUMER_DEFAULTS.ackWaitMs));
    assert.equal(r.config.max_deliver, CONSUMER_DEFAULTS.maxDeliver);
    assert.deepEqual(r.config.filter_subjects, ['events.stripe.>']);
    assert.deepEqual(r.config.metadata, {
      'hs-team': 'billing',
      'hs-dlq-subject': 'teams.billing.dlq',
      'hs-backoff-ms': CONSUMER_DEFAULTS.backoffMs.join(','),
    });
  });

  it('resolveConsumerConfig: startAt all, a time, a sequence', () => {
    assert.equal(resolveConsumerConfig({ team: 't', startAt: 'all' }).config.deliver_policy, DeliverPolicy.All);
    const at = resolveConsumerConfig({ team: 't', startAt: new Date(0) }).config;
    assert.equal(at.deliver_policy, DeliverPolicy.StartTime);
    assert.equal(at.opt_start_time, '1970-01-01T00:00:00.000Z');
    const seq = resolveConsumerConfig({ team: 't', startAt: 42 }).config;
    assert.equal(seq.deliver_policy, DeliverPolicy.StartSequence);
    assert.equal(seq.opt_start_seq, 42);
  });

  it('resolveConsumerConfig: a bad team, ack wait, max deliver or backoff is refused', () => {
    for (const options of [{ team: 'a.b' }, { team: 't', ackWaitMs: 10 }, { team: 't', maxDeliver: 0 }, { team: 't', backoffMs: [] }]) {
      assert.throws(() => resolveConsumerConfig(options), ConsumerOptionsError);
    }
  });

  it('dead letters: the team subject is outside events.> and hs.>', () => {
    assert.equal(deadLetterSubject('billing'), 'teams.billing.dlq');
    assert.equal(deadLetterSubject('billing', 'ns'), 'ns.teams.billing.dlq');
    assert.equal(deadLetterStream('billing', 'ns'), 'ns_TEAM_billing_DLQ');
  });

  it('backoffDelay: by delivery count, the last value repeating', () => {
    assert.equal(backoffDelay([10, 20, 30], 1), 10);
    assert.equal(backoffDelay([10, 20, 30], 3), 30);
    assert.equal(backoffDelay([10, 20, 30], 9), 30);
  });
});
