// What each console role may do: the role of every RPC, from the contracts
// package (the server enforces the same table; the console only hides what
// would be refused).
import { mayCall, type Role, type RpcName } from '@hookstream/contracts/rpc-roles';

/** Whether `role` may call `rpc` (a signed-out visitor may call nothing). */
export function can(role: Role | undefined, rpc: RpcName): boolean {
  return role !== undefined && mayCall(role, rpc);
}
