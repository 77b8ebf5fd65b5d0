export { buildApp, type PipelineApp } from './app.ts';
