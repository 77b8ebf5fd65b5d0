/**
 * A value in the `hs_endpoint_state` bucket (key = endpoint id): what deliver
 * wrote about an endpoint it disabled (410 Gone). Route skips a disabled
 * endpoint, deliver dead-letters its tasks, control shows the reason and its
 * replays skip it too.
 */
export interface EndpointState {
  readonly disabled: boolean;
  readonly reason: string;
  /** Epoch ms when deliver wrote it. */
  readonly at: number;
}

/** The one wire form of an {@link EndpointState}: JSON `{disabled, reason, at}`. Pure. */
export function encodeEndpointState(state: EndpointState): string {
  return JSON.stringify({ disabled: state.disabled, reason: state.reason, at: state.at });
}

/**
 * Decodes an `hs_endpoint_state` value. Throws on a malformed one (not JSON,
 * or `disabled` not a boolean); a config cache then reads the key as absent,
 * i.e. not disabled. The `(key, value)` form fits `watchConfig`. Pure.
 */
export function decodeEndpointState(_key: string, value: Uint8Array): EndpointState {
  const raw = JSON.parse(new TextDecoder().decode(value)) as Partial<Record<keyof EndpointState, unknown>> | null;
  if (raw === null || typeof raw !== 'object' || typeof raw.disabled !== 'boolean') throw new Error('disabled must be true or false');
  return { disabled: raw.disabled, reason: String(raw.reason ?? ''), at: Number(raw.at ?? 0) };
}
