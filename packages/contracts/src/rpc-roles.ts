// Browser-safe (no Node imports): the console bundle imports this module by
// its own entry, `@hookstream/contracts/rpc-roles`.

/**
 * Console roles, each including the one before: `viewer` reads, `operator`
 * also replays and purges dead letters, replays to endpoints, sends test
 * events and enables or disables endpoints, `admin` may call every RPC (the
 * control token is admin).
 */
export type Role = 'viewer' | 'operator' | 'admin';

/** Every {@link Role}, least first. */
export const ROLES: readonly Role[] = Object.freeze(['viewer', 'operator', 'admin']);

/**
 * The least role that may call each control-plane RPC (handler key, e.g.
 * `listEndpoints`). The control service checks that these keys are exactly
 * the RPCs of `ControlPlaneService` (a mapped type over the proto's methods
 * in services/control/src/console/rpc-json.ts), so a new RPC without a role
 * fails to compile; the server and the console's browser code both read
 * this table.
 */
export const RPC_ROLES = Object.freeze({
  createSource: 'admin',
  getSource: 'viewer',
  listSources: 'viewer',
  updateSource: 'admin',
  deleteSource: 'admin',
  rotateSourceSecret: 'admin',
  createEndpoint: 'admin',
  getEndpoint: 'viewer',
  listEndpoints: 'viewer',
  updateEndpoint: 'admin',
  deleteEndpoint: 'admin',
  rotateEndpointSecret: 'admin',
  setEndpointEnabled: 'operator',
  // A read: it stores nothing and tells a viewer no more than the endpoint page does.
  checkFilter: 'viewer',
  createSchema: 'admin',
  getSchema: 'viewer',
  listSchemas: 'viewer',
  updateSchema: 'admin',
  deleteSchema: 'admin',
  listDeadLetters: 'viewer',
  getDeadLetter: 'viewer',
  replayDeadLetters: 'operator',
  purgeDeadLetters: 'operator',
  summarizeDeadLetters: 'viewer',
  getEvent: 'viewer',
  listEvents: 'viewer',
  findEvents: 'viewer',
  replayToEndpoint: 'operator',
  // Like a replay: it sends a request to the endpoint, it changes no configuration.
  sendTestEvent: 'operator',
  stats: 'viewer',
  statsSeries: 'viewer',
  endpointHealth: 'viewer',
  sourceHealth: 'viewer',
  listDrift: 'viewer',
} as const satisfies Readonly<Record<string, Role>>);

/** A control-plane RPC by its handler key. */
export type RpcName = keyof typeof RPC_ROLES;

/** Whether `method` names a control-plane RPC. Pure. */
export function isRpcName(method: string): method is RpcName {
  return Object.hasOwn(RPC_ROLES, method);
}

/** Whether an RPC only reads (a viewer may call it). Unknown names are not reads. Pure. */
export function isRead(method: string): boolean {
  return isRpcName(method) && RPC_ROLES[method] === 'viewer';
}

/** Whether `role` may call the RPC named `method`: its role is at least the RPC's ({@link RPC_ROLES}). Unknown RPCs: admin only. Pure. */
export function mayCall(role: Role, method: string): boolean {
  const needed: Role = isRpcName(method) ? RPC_ROLES[method] : 'admin';
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}
