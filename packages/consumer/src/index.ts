export { type ConsumeOptions, type ConsumeStats, consume, deadLetter, type EventHandler, PermanentError } from './consume.ts';
export {
  CONSUMER_DEFAULTS,
  type ConsumerOptions,
  deadLetterStream,
  ensureConsumer,
  ensureDeadLetterStream,
  type StartAt,
} from './consumer.ts';
export { EnvelopeError, type FormBody, type HookstreamEvent, parseEvent } from './envelope.ts';
export { type AnyOperationalEvent, operationalEvent } from './operational.ts';
