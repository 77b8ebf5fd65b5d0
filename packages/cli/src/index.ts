export { type CliIo, EXIT, runCli, USAGE } from './cli.ts';
