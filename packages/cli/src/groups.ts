/** What each group of commands (`hs sources …`) is about, in the order help lists them. */
export const GROUPS: Readonly<Record<string, string>> = Object.freeze({
  sources: 'where webhooks come from: verification scheme and secrets',
  endpoints: 'where events are delivered: URL, event types, filter, retries, secrets',
  schemas: 'JSON Schemas validate checks events against, per source and event type',
  dlq: 'dead letters: what a stage refused or could not deliver',
  events: 'events stored on HS_EVENTS and where each one is',
  completion: 'shell completion scripts',
});
