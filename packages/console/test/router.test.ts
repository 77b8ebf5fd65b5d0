import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  deadLettersHref,
  endpointHref,
  eventHref,
  eventsHref,
  parseHash,
  searchHref,
  sectionOf,
  sourceHref,
  titleOf,
} from '../web/router.ts';

describe('parseHash', () => {
  it('reads the pages', () => {
    assert.deepEqual(parseHash(''), { name: 'overview' });
    assert.deepEqual(parseHash('#/'), { name: 'overview' });
    assert.deepEqual(parseHash('#/login'), { name: 'login' });
    assert.deepEqual(parseHash('#/events'), { name: 'events' });
    assert.deepEqual(parseHash('#/events/evt_123'), { name: 'event', id: 'evt_123' });
    assert.deepEqual(parseHash('#/endpoints/orders-api'), { name: 'endpoint', id: 'orders-api' });
  });
  it('decodes ids', () => {
    assert.deepEqual(parseHash(endpointHref('a b/c')), { name: 'endpoint', id: 'a b/c' });
    assert.deepEqual(parseHash(eventHref('e:1?x')), { name: 'event', id: 'e:1?x' });
    assert.deepEqual(parseHash('#/events/%E0%A4%A'), { name: 'event', id: '%E0%A4%A' });
  });
  it('reads the dead-letter filter from the query', () => {
    assert.deepEqual(parseHash('#/dead-letters?stage=deliver&endpoint=orders%20api'), {
      name: 'dead-letters',
      filter: { stage: 'deliver', source: '', endpoint: 'orders api', reason: '' },
    });
    assert.deepEqual(parseHash('#/dead-letters'), {
      name: 'dead-letters',
      filter: { stage: '', source: '', endpoint: '', reason: '' },
    });
  });
  it('answers not-found for anything else', () => {
    assert.equal(parseHash('#/nope').name, 'not-found');
    assert.equal(parseHash('#/events/a/b').name, 'not-found');
    assert.equal(parseHash('#/login/x').name, 'not-found');
  });
});

describe('deadLettersHref', () => {
  it('keeps non-empty fields only and round-trips', () => {
    assert.equal(deadLettersHref(), '#/dead-letters');
    assert.equal(deadLettersHref({ stage: ' ', source: '' }), '#/dead-letters');
    const href = deadLettersHref({ stage: 'deliver', reason: 'max deliveries & more' });
    assert.equal(href, '#/dead-letters?stage=deliver&reason=max+deliveries+%26+more');
    assert.deepEqual(parseHash(href), {
      name: 'dead-letters',
      filter: { stage: 'deliver', source: '', endpoint: '', reason: 'max deliveries & more' },
    });
  });
});

describe('eventsHref and searchHref', () => {
  it('console: #/events?source=… is honoured and round-trips with every filter', () => {
    assert.deepEqual(parseHash('#/events?source=stripe'), {
      name: 'events',
      query: { source: 'stripe', type: '', status: '', since: '', until: '' },
    });
    assert.equal(eventsHref({ source: ' ', type: '' }), '#/events');
    const href = eventsHref({ source: 'stripe', type: 'charge.*', status: 'failing', since: '1000', until: '2000' });
    assert.equal(href, '#/events?source=stripe&type=charge.*&status=failing&since=1000&until=2000');
    assert.deepEqual(parseHash(href), {
      name: 'events',
      query: { source: 'stripe', type: 'charge.*', status: 'failing', since: '1000', until: '2000' },
    });
  });

  it('console: #/search?q=… carries any text, encoded', () => {
    const href = searchHref(' evt_1 & 2 ');
    assert.equal(href, '#/search?q=evt_1+%26+2');
    assert.deepEqual(parseHash(href), { name: 'search', text: 'evt_1 & 2' });
    assert.deepEqual(parseHash('#/search'), { name: 'search', text: '' });
    assert.equal(sectionOf({ name: 'search', text: 'x' }), 'events');
    assert.equal(titleOf({ name: 'search', text: 'evt_1' }), 'Find evt_1');
  });
});

describe('sectionOf and titleOf', () => {
  it('map routes to the navigation and titles', () => {
    assert.equal(sectionOf({ name: 'endpoint', id: 'x' }), 'overview');
    assert.equal(sectionOf({ name: 'event', id: 'x' }), 'events');
    assert.equal(sectionOf({ name: 'login' }), undefined);
    assert.equal(titleOf({ name: 'event', id: 'e1' }), 'Event e1');
  });

  it('console: #/sources/{id} is a source page under the overview, its id encoded', () => {
    assert.equal(sourceHref('a b'), '#/sources/a%20b');
    assert.deepEqual(parseHash(sourceHref('a b')), { name: 'source', id: 'a b' });
    assert.deepEqual(parseHash('#/sources'), { name: 'not-found', path: '/sources' });
    assert.equal(sectionOf({ name: 'source', id: 'stripe' }), 'overview');
    assert.equal(titleOf({ name: 'source', id: 'stripe' }), 'Source stripe');
  });
});
