import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type EndpointSubscription,
  endpointWantsEvent,
  type FilterVerdict,
  matchesEventType,
  type WantsContext,
} from '@hookstream/contracts';

const endpoint = (over: Partial<EndpointSubscription> = {}): EndpointSubscription => ({
  id: 'wh',
  enabled: true,
  eventTypes: ['*'],
  ...over,
});
const event = { source: 's', type: 'invoice.paid' };
const context = (over: Partial<WantsContext> = {}): WantsContext => ({
  state: undefined,
  filter: () => ({ ok: true, match: true }),
  ...over,
});

describe('endpoint wants event', () => {
  it('endpoint wants event: type patterns match with * as any run of characters', () => {
    assert.equal(matchesEventType('*', 'anything'), true);
    assert.equal(matchesEventType('payment.*', 'payment.succeeded'), true);
    assert.equal(matchesEventType('payment.*', 'payment.intent.created'), true);
    assert.equal(matchesEventType('payment.*', 'payment'), false);
    assert.equal(matchesEventType('a*c*e', 'abcde'), true);
    assert.equal(matchesEventType('a*c*e', 'abcd'), false);
    assert.equal(matchesEventType('exact', 'exact'), true);
  });

  it('endpoint wants event: sources and type patterns', () => {
    assert.deepEqual(endpointWantsEvent(endpoint({ eventTypes: ['invoice.*'] }), event, context()), { wants: true });
    assert.deepEqual(endpointWantsEvent(endpoint({ sources: ['a'] }), event, context()), { wants: false, why: 'source' });
    assert.deepEqual(endpointWantsEvent(endpoint({ eventTypes: ['order.*'] }), event, context()), { wants: false, why: 'event_type' });
  });

  it('endpoint wants event: a disabled endpoint, or one deliver disabled on a 410, wants nothing', () => {
    assert.deepEqual(endpointWantsEvent(endpoint({ enabled: false }), event, context()), { wants: false, why: 'disabled' });
    const gone = context({ state: { disabled: true, reason: 'gone', at: 1 } });
    assert.deepEqual(endpointWantsEvent(endpoint(), event, gone), { wants: false, why: 'gone' });
    const cleared = context({ state: { disabled: false, reason: '', at: 1 } });
    assert.deepEqual(endpointWantsEvent(endpoint(), event, cleared), { wants: true });
  });

  it('endpoint wants event: the filter runs last, only when everything else matched, and its errors are reported', () => {
    const calls: string[] = [];
    const verdict =
      (v: FilterVerdict) =>
      (expression: string, id: string): FilterVerdict => {
        calls.push(`${id}:${expression}`);
        return v;
      };
    const filtered = endpoint({ filter: 'data.amount > 10' });
    assert.deepEqual(endpointWantsEvent(filtered, event, context({ filter: verdict({ ok: true, match: true }) })), { wants: true });
    assert.deepEqual(endpointWantsEvent(filtered, event, context({ filter: verdict({ ok: true, match: false }) })), {
      wants: false,
      why: 'filter',
    });
    assert.deepEqual(endpointWantsEvent(filtered, event, context({ filter: verdict({ ok: false, error: 'no such key' }) })), {
      wants: false,
      why: 'filter_error',
      error: 'no such key',
    });
    assert.deepEqual(calls, ['wh:data.amount > 10', 'wh:data.amount > 10', 'wh:data.amount > 10']);
    calls.length = 0;
    endpointWantsEvent({ ...filtered, sources: ['other'] }, event, context({ filter: verdict({ ok: true, match: true }) }));
    endpointWantsEvent(
      filtered,
      event,
      context({ state: { disabled: true, reason: 'gone', at: 1 }, filter: verdict({ ok: true, match: true }) }),
    );
    assert.deepEqual(calls, [], 'no filter run for an endpoint that does not want the event anyway');
  });
});
