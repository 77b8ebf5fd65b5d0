export {
  backoffDelay,
  CONSUMER_DLQ_STAGE,
  type ConsumeOptions,
  type ConsumeStats,
  consume,
  type DeadLetterReason,
  deadLetter,
  type EventHandler,
  PermanentError,
} from './consume.ts';
export {
  CONSUMER_DEFAULTS,
  CONSUMER_METADATA,
  type ConsumerOptions,
  ConsumerOptionsError,
  consumerName,
  deadLetterStream,
  deadLetterSubject,
  ensureConsumer,
  ensureDeadLetterStream,
  eventsStream,
  filterSubjects,
  type ResolvedConsumer,
  resolveConsumerConfig,
  type StartAt,
} from './consumer.ts';
export { EnvelopeError, type EventMessage, type FormBody, type HookstreamEvent, parseEvent } from './envelope.ts';
