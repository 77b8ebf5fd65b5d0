import { Header } from '@hookstream/contracts';
import type { FilterInput } from './filters.ts';

/** The parts of a consumed message a filter's input comes from (runtime's `StageMessage` fits). */
export interface FilterSource {
  readonly data: Uint8Array;
  readonly header: (name: string) => string | undefined;
  readonly headers?: Iterable<[string, string[]]> | undefined;
}

/** Sender headers (`hs-h-*`) as a plain object with lower-case names, for filters. */
export function senderHeaders(msg: Pick<FilterSource, 'headers'>): Record<string, string> {
  const out: Record<string, string> = {};
  if (msg.headers) {
    for (const [key, values] of msg.headers) {
      const lower = key.toLowerCase();
      if (lower.startsWith(Header.httpPrefix) && values[0] !== undefined) out[lower.slice(Header.httpPrefix.length)] = values[0];
    }
  }
  return out;
}

/** The body as a filter's `data`: JSON, or a form body as an object; null when it is neither. */
export function parseData(body: Uint8Array, contentType: string | undefined): unknown {
  const text = new TextDecoder().decode(body);
  if (contentType?.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of new URLSearchParams(text)) out[k] = v;
    return out;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/**
 * The variables an endpoint filter sees for one event: its type, source and
 * id, the parsed body ({@link parseData}) and the sender's headers. Route
 * (fanning out) and control (replaying to an endpoint) both build it here,
 * so a filter means the same in both. Pure.
 */
export function filterInputOf(
  msg: FilterSource,
  event: { readonly type: string; readonly source: string; readonly id: string },
): FilterInput {
  return {
    type: event.type,
    source: event.source,
    id: event.id,
    data: parseData(msg.data, msg.header(`${Header.httpPrefix}content-type`)),
    headers: senderHeaders(msg),
  };
}
