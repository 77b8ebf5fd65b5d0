// What each console role may do (the server enforces the same; the console
// only hides what would be refused).
import type { Role } from './api.ts';

export type Action = 'read' | 'replay' | 'purge' | 'toggle-endpoint' | 'admin';

const allowed: Record<Role, readonly Action[]> = {
  viewer: ['read'],
  operator: ['read', 'replay', 'purge', 'toggle-endpoint'],
  admin: ['read', 'replay', 'purge', 'toggle-endpoint', 'admin'],
};

export function can(role: Role | undefined, action: Action): boolean {
  if (role === undefined) return false;
  return allowed[role]?.includes(action) ?? false;
}
