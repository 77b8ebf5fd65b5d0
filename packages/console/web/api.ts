// The console's JSON API client: `GET /api/session` and `POST /api/rpc/{Method}`
// with the token from the login page. Answers are ts-proto `toJSON` output, so
// fields holding their default value (0, '', false, [], absent message) are
// missing: every type below marks them optional and readers default them.

export const TOKEN_KEY = 'hookstream.token';

import type { Role } from '@hookstream/contracts/rpc-roles';

// The console roles are a contract with the server (the contracts package).
export type { Role };

export interface Session {
  readonly user: string;
  readonly role: Role;
}

/** A non-2xx answer: the HTTP status plus the `{error:{code,message}}` body. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

// ---- message shapes (proto3 JSON, defaults omitted) ----

export interface HeaderEntry {
  name?: string;
  value?: string;
}

export interface Endpoint {
  id?: string;
  configJson?: string;
  revision?: number;
  updatedAtMs?: number;
}

export interface ListEndpointsResponse {
  endpoints?: Endpoint[];
  nextPageToken?: string;
}

export interface Source {
  id?: string;
  configJson?: string;
  revision?: number;
  updatedAtMs?: number;
}

export interface ListSourcesResponse {
  sources?: Source[];
  nextPageToken?: string;
}

export type Outcomes = Record<string, number>;

export interface EndpointStats {
  endpointId?: string;
  attempts?: number;
  successes?: number;
  successRate?: number;
  latencyP50Ms?: number;
  latencyP95Ms?: number;
  latencyP99Ms?: number;
  outcomes?: Outcomes;
}

export interface CircuitReport {
  replica?: string;
  state?: string;
  reportedAtMs?: number;
}

export interface LastFailure {
  eventId?: string;
  attempt?: number;
  status?: number;
  outcome?: string;
  atMs?: number;
  responseExcerpt?: string;
}

export interface EndpointHealth {
  endpointId?: string;
  url?: string;
  enabled?: boolean;
  disabledReason?: string;
  circuits?: CircuitReport[];
  deadLetters?: number;
  stats?: EndpointStats;
  lastFailure?: LastFailure;
}

export interface EndpointHealthResponse {
  endpoints?: EndpointHealth[];
  sinceMs?: number;
  untilMs?: number;
  statsNote?: string;
}

export interface LastRejection {
  eventId?: string;
  stage?: string;
  reason?: string;
  detail?: string;
  atMs?: number;
}

export interface SourceHealth {
  sourceId?: string;
  provider?: string;
  enabled?: boolean;
  eventsStored?: number;
  deadLetters?: number;
  rejected?: number;
  /** By `{stage}/{reason}`. */
  rejections?: Record<string, number>;
  duplicates?: number;
  /** Requests ingest answered for this source in the window (every status). */
  received?: number;
  /** Of those, the accepted ones (202). */
  acceptedRequests?: number;
  lastRejection?: LastRejection;
  /** When one source is asked: its newest rejections in the window, newest first. */
  recentRejections?: LastRejection[];
}

export interface SourceHealthResponse {
  sources?: SourceHealth[];
  sinceMs?: number;
  untilMs?: number;
  statsNote?: string;
}

/** A field validate saw that no schema declares (ListDrift). */
export interface DriftField {
  source?: string;
  eventType?: string;
  path?: string;
  jsonType?: string;
  count?: number;
  firstSeenMs?: number;
  lastSeenMs?: number;
  exampleEventId?: string;
}

export interface ListDriftResponse {
  fields?: DriftField[];
  sinceMs?: number;
  untilMs?: number;
}

export interface StatsPoint {
  atMs?: number;
  attempts?: number;
  successes?: number;
  latencyP50Ms?: number;
  latencyP95Ms?: number;
  latencyP99Ms?: number;
  outcomes?: Outcomes;
}

export interface StatsSeriesResponse {
  points?: StatsPoint[];
  sinceMs?: number;
  untilMs?: number;
  stepSeconds?: number;
}

export interface DeliveryAttempt {
  endpointId?: string;
  attempt?: number;
  status?: number;
  outcome?: string;
  latencyMs?: number;
  atMs?: number;
  nextRetryAtMs?: number;
  responseExcerpt?: string;
  /** Why no response came (deliver's text), when none did. */
  error?: string;
  /** Set for attempts of a replay (`dlq-{sequence}` or a replay request id). */
  replay?: string;
}

export interface HsEvent {
  eventId?: string;
  source?: string;
  eventType?: string;
  subject?: string;
  sequence?: number;
  receivedAtMs?: number;
  storedAtMs?: number;
  payloadSize?: number;
  headers?: HeaderEntry[];
  /** base64 */
  payload?: string;
  attempts?: DeliveryAttempt[];
  attemptsNote?: string;
  /** GetEvent of an id dedup dropped: the first delivery's id. */
  duplicateOf?: string;
  idempotencyKey?: string;
  /** GetEvent: where the event (for a duplicate, the first one) is now. */
  state?: EventState;
  /** ListEvents with ClickHouse: `delivered`, `failing` or `pending`. */
  deliveryStatus?: string;
}

/** Where one endpoint's delivery of a found event stands (FindEvents). */
export interface EndpointDelivery {
  endpointId?: string;
  /** `delivered`, `retrying`, `dead_lettered` or `failed`. */
  state?: string;
  attempts?: number;
  lastAttemptAtMs?: number;
  nextAttemptAtMs?: number;
  lastError?: string;
  reason?: string;
  replay?: string;
}

/** One webhook FindEvents matched. */
export interface FoundEvent {
  /** `event_id`, `idempotency_key` or `dead_letter_sequence`. */
  matchedBy?: string;
  event?: HsEvent;
  endpoints?: EndpointDelivery[];
  summary?: string;
}

export interface FindEventsResponse {
  found?: FoundEvent[];
}

/** Where an event is now (GetEvent's `state`). */
export interface EventState {
  eventId?: string;
  /** `events`, `dead_lettered` or `unknown`. */
  state?: string;
  subject?: string;
  replay?: string;
  stage?: string;
  reason?: string;
  detail?: string;
  deadLetterSequence?: number;
  deadLetteredAtMs?: number;
}

export interface ListEventsResponse {
  events?: HsEvent[];
  nextPageToken?: string;
}

export interface DeadLetterFilter {
  stage?: string;
  source?: string;
  endpoint?: string;
  reason?: string;
}

/** SummarizeDeadLetters: counts by reason of a filter, and the values each filter field can take. */
export interface SummarizeDeadLettersResponse {
  total?: number;
  byReason?: Record<string, number>;
  stages?: string[];
  sources?: string[];
  endpoints?: string[];
  reasons?: string[];
  truncated?: boolean;
}

export interface DeadLetter {
  sequence?: number;
  subject?: string;
  stage?: string;
  reason?: string;
  detail?: string;
  originalSubject?: string;
  eventId?: string;
  source?: string;
  endpoint?: string;
  deadLetteredAtMs?: number;
  deliveries?: number;
  headers?: HeaderEntry[];
  /** base64 (GetDeadLetter only) */
  payload?: string;
  payloadSize?: number;
}

export interface ListDeadLettersResponse {
  deadLetters?: DeadLetter[];
  nextPageToken?: string;
}

export interface ReplayDeadLettersResponse {
  replayed?: number;
  results?: { sequence?: number; subject?: string; msgId?: string; duplicate?: boolean }[];
}

export interface ReplayToEndpointResponse {
  replayed?: number;
  duplicates?: number;
  skipped?: number;
  requestId?: string;
  truncated?: boolean;
}

// ---- the token ----

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken(): void {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage unavailable: nothing stored either
  }
}

let unauthorizedHandler: () => void = () => {};

/** Called on every 401 after the token was cleared (the app goes to the login page). */
export function onUnauthorized(handler: () => void): void {
  unauthorizedHandler = handler;
}

async function errorOf(response: Response): Promise<ApiError> {
  let code = `HTTP_${response.status}`;
  let message = response.statusText || `HTTP ${response.status}`;
  try {
    const body = (await response.json()) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code === 'string') code = body.error.code;
    if (typeof body.error?.message === 'string' && body.error.message !== '') message = body.error.message;
  } catch {
    // not JSON: keep the status text
  }
  return new ApiError(response.status, code, message);
}

async function call<T>(path: string, init: RequestInit, token: string | null): Promise<T> {
  const headers = new Headers(init.headers);
  if (token !== null) headers.set('authorization', `Bearer ${token}`);
  headers.set('accept', 'application/json');
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers, credentials: 'same-origin' });
  } catch (err) {
    throw new ApiError(0, 'UNAVAILABLE', `The console server cannot be reached (${err instanceof Error ? err.message : String(err)}).`);
  }
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401 && token !== null && token === getToken()) {
      clearToken();
      unauthorizedHandler();
    }
    throw error;
  }
  return (await response.json()) as T;
}

/** Who the token belongs to; an ApiError with status 401 when it is not accepted. */
export function fetchSession(token: string | null = getToken()): Promise<Session> {
  return call<Session>('/api/session', { method: 'GET' }, token);
}

/** One ControlPlane method with its request message in proto3 JSON. */
export function rpc<T>(method: string, request: object = {}): Promise<T> {
  return call<T>(
    `/api/rpc/${encodeURIComponent(method)}`,
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) },
    getToken(),
  );
}

/** The text to show for a failed call. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 403) return 'Your role may not do this.';
    if (err.status === 401) return 'Your session has ended; sign in again.';
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}
