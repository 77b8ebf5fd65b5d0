export { buildApp, type RouteApp, type RouteOverrides } from './app.ts';
export { loadConfig, type RouteConfig } from './config.ts';
