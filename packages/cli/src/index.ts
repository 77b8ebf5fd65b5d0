export {
  ApplyFileError,
  applyChange,
  type Change,
  type Current,
  type Desired,
  type DesiredSchema,
  describeChange,
  parseDesired,
  plan,
  readCurrent,
  stableJson,
} from './apply.ts';
export { type CliIo, EXIT, runCli, USAGE } from './cli.ts';
export { formatTailMessage, type TailOptions, tail } from './tail.ts';
export { parseTime } from './time.ts';
