export { buildApp, FILTER_ERROR, type RouteApp, type RouteOverrides } from './app.ts';
export { loadConfig, type RouteConfig } from './config.ts';
export {
  type FilterFailure,
  handleValid,
  planRoutes,
  type RouteDeps,
  type RoutePlan,
  type ValidMessage,
} from './handler.ts';
