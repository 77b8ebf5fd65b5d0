/**
 * What dedup keeps about a delivery it dropped as a duplicate, in the dedup
 * bucket (`hs_dedup`) under contracts' `duplicateNoteKey`, for as long as the
 * bucket keeps keys: the control plane's GetEvent reads it to answer a
 * duplicate's id with "duplicate of {first_event_id}".
 */
export interface DuplicateNote {
  /** The dropped delivery's own id (ingest's). */
  readonly event_id: string;
  readonly source: string;
  readonly idempotency_key: string;
  /** The event that holds the key: the first delivery, the one that went on. */
  readonly first_event_id: string;
  /** When ingest received the dropped delivery (epoch ms). */
  readonly received_at: number;
  /** When dedup dropped it (epoch ms). */
  readonly at: number;
}

/** A note as stored (JSON). Pure. */
export function encodeDuplicateNote(note: DuplicateNote): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(note));
}

/** Reads a stored note; undefined when the value is not one (never throws). Pure. */
export function decodeDuplicateNote(value: Uint8Array): DuplicateNote | undefined {
  try {
    const raw = JSON.parse(new TextDecoder().decode(value)) as Record<string, unknown> | null;
    if (raw === null || typeof raw !== 'object') return undefined;
    const str = (k: string): string | undefined => (typeof raw[k] === 'string' ? (raw[k] as string) : undefined);
    const num = (k: string): number => (typeof raw[k] === 'number' && Number.isFinite(raw[k]) ? (raw[k] as number) : 0);
    const eventId = str('event_id');
    const first = str('first_event_id');
    if (eventId === undefined || eventId === '' || first === undefined || first === '') return undefined;
    return {
      event_id: eventId,
      source: str('source') ?? '',
      idempotency_key: str('idempotency_key') ?? '',
      first_event_id: first,
      received_at: num('received_at'),
      at: num('at'),
    };
  } catch {
    return undefined;
  }
}
