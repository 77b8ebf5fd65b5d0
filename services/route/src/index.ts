export { buildApp, FILTER_ERROR, type RouteApp, type RouteOverrides } from './app.ts';
export { loadConfig, type RouteConfig } from './config.ts';
export { type CompiledFilter, compileFilter, FilterCache, type FilterInput, type FilterResult } from './filters.ts';
export {
  type FilterFailure,
  handleValid,
  parseData,
  planRoutes,
  type RouteDeps,
  type RoutePlan,
  senderHeaders,
  type ValidMessage,
} from './handler.ts';
