// Hash routes of the console. Pure: parseHash/hrefOf have no DOM access, the
// `useRoute` hook lives in hooks.ts.

export interface DeadLetterQuery {
  stage: string;
  source: string;
  endpoint: string;
  reason: string;
}

/** The Live events filters (`#/events?source=…&type=…&status=…&since=…&until=…`; times in epoch ms). */
export interface EventsQuery {
  source: string;
  type: string;
  status: string;
  since: string;
  until: string;
}

export const EVENTS_QUERY_KEYS = ['source', 'type', 'status', 'since', 'until'] as const;

export const EMPTY_EVENTS_QUERY: EventsQuery = Object.freeze({ source: '', type: '', status: '', since: '', until: '' });

export type Route =
  | { readonly name: 'login' }
  | { readonly name: 'overview' }
  | { readonly name: 'endpoint'; readonly id: string }
  | { readonly name: 'source'; readonly id: string }
  /** `query` only when the hash has one (the unfiltered live feed has none). */
  | { readonly name: 'events'; readonly query?: EventsQuery }
  | { readonly name: 'search'; readonly text: string }
  | { readonly name: 'event'; readonly id: string }
  | { readonly name: 'dead-letters'; readonly filter: DeadLetterQuery }
  | { readonly name: 'not-found'; readonly path: string };

export const EMPTY_FILTER: DeadLetterQuery = Object.freeze({ stage: '', source: '', endpoint: '', reason: '' });

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** `#/endpoints/a%2Fb?x=1` → route. An empty hash is the overview. */
export function parseHash(hash: string): Route {
  const raw = hash.startsWith('#') ? hash.slice(1) : hash;
  const q = raw.indexOf('?');
  const path = q >= 0 ? raw.slice(0, q) : raw;
  const query = new URLSearchParams(q >= 0 ? raw.slice(q + 1) : '');
  const params = query;
  const parts = path
    .split('/')
    .filter((p) => p !== '')
    .map(decode);
  const [first, second, ...rest] = parts;
  if (rest.length > 0) return { name: 'not-found', path };
  if (first === undefined) return { name: 'overview' };
  if (first === 'login' && second === undefined) return { name: 'login' };
  if (first === 'endpoints' && second !== undefined) return { name: 'endpoint', id: second };
  if (first === 'sources' && second !== undefined) return { name: 'source', id: second };
  if (first === 'events' && second === undefined) {
    const query = { ...EMPTY_EVENTS_QUERY };
    for (const key of EVENTS_QUERY_KEYS) query[key] = (params.get(key) ?? '').trim();
    return EVENTS_QUERY_KEYS.some((k) => query[k] !== '') ? { name: 'events', query } : { name: 'events' };
  }
  if (first === 'search' && second === undefined) return { name: 'search', text: (params.get('q') ?? '').trim() };
  if (first === 'events' && second !== undefined) return { name: 'event', id: second };
  if (first === 'dead-letters' && second === undefined) {
    return {
      name: 'dead-letters',
      filter: {
        stage: query.get('stage') ?? '',
        source: query.get('source') ?? '',
        endpoint: query.get('endpoint') ?? '',
        reason: query.get('reason') ?? '',
      },
    };
  }
  return { name: 'not-found', path };
}

/** The dead-letter page's hash with only the non-empty filter fields. */
export function deadLettersHref(filter: Partial<DeadLetterQuery> = {}): string {
  const query = new URLSearchParams();
  for (const key of ['stage', 'source', 'endpoint', 'reason'] as const) {
    const value = filter[key]?.trim() ?? '';
    if (value !== '') query.set(key, value);
  }
  const qs = query.toString();
  return qs === '' ? '#/dead-letters' : `#/dead-letters?${qs}`;
}

/** The Live events hash with only the non-empty filters. */
export function eventsHref(query: Partial<EventsQuery> = {}): string {
  const params = new URLSearchParams();
  for (const key of EVENTS_QUERY_KEYS) {
    const value = query[key]?.trim() ?? '';
    if (value !== '') params.set(key, value);
  }
  const qs = params.toString();
  return qs === '' ? '#/events' : `#/events?${qs}`;
}

/** The search page's hash for a text. */
export function searchHref(text: string): string {
  return `#/search?${new URLSearchParams({ q: text.trim() }).toString()}`;
}

export function endpointHref(id: string): string {
  return `#/endpoints/${encodeURIComponent(id)}`;
}

/** A source's page (`#/sources/{id}`). */
export function sourceHref(id: string): string {
  return `#/sources/${encodeURIComponent(id)}`;
}

export function eventHref(id: string): string {
  return `#/events/${encodeURIComponent(id)}`;
}

/** The main navigation entry a route belongs to. */
export function sectionOf(route: Route): 'overview' | 'events' | 'dead-letters' | undefined {
  switch (route.name) {
    case 'overview':
    case 'endpoint':
    case 'source':
      return 'overview';
    case 'events':
    case 'event':
    case 'search':
      return 'events';
    case 'dead-letters':
      return 'dead-letters';
    default:
      return undefined;
  }
}

/** The document title for a route. */
export function titleOf(route: Route): string {
  switch (route.name) {
    case 'login':
      return 'Sign in';
    case 'overview':
      return 'Overview';
    case 'endpoint':
      return `Endpoint ${route.id}`;
    case 'source':
      return `Source ${route.id}`;
    case 'events':
      return 'Live events';
    case 'event':
      return `Event ${route.id}`;
    case 'search':
      return route.text === '' ? 'Find an event' : `Find ${route.text}`;
    case 'dead-letters':
      return 'Dead letters';
    case 'not-found':
      return 'Not found';
  }
}
