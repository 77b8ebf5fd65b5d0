export { findBinary, findNatsServer, MIN_NATS_SERVER, MissingBinaryError } from './binaries.ts';
export { ClickHouseServer, type ClickHouseServerOptions, startClickHouse } from './clickhouse-server.ts';
export { type HttpAnswer, type HttpRequestOptions, httpRequest, waitForHttpOk } from './http.ts';
export { connectTestNats } from './nats-client.ts';
export { NatsServer, type NatsServerOptions, startNatsServer } from './nats-server.ts';
export { freePort } from './ports.ts';
export { type Received, type Responder, startEndpoint, type TestEndpoint } from './receiver.ts';
export { storedMessages } from './streams.ts';
export { waitFor } from './wait.ts';
