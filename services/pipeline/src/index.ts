export { buildApp, loadStages, PIPELINE_HEALTH_PORT, type PipelineApp } from './app.ts';
