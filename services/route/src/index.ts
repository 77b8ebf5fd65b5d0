export { buildApp, FILTER_ERROR, type RouteApp, type RouteOverrides } from './app.ts';
export { loadConfig, type RouteConfig } from './config.ts';
export {
  type CompiledFilter,
  compileFilter,
  DEFAULT_FILTER_BUDGET,
  type FilterBudget,
  FilterCache,
  type FilterInput,
  type FilterResult,
  MAX_FILTER_PATTERN_PROGRAM,
} from './filters.ts';
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
