export { findBinary, MissingBinaryError } from './binaries.ts';
export { NatsServer, type NatsServerOptions, startNatsServer } from './nats-server.ts';
export { freePort } from './ports.ts';
export { storedMessages } from './streams.ts';
export { waitFor } from './wait.ts';
