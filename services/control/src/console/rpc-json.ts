import { status } from '@grpc/grpc-js';
import { type Role, RPC_ROLES, type RpcName } from '@hookstream/contracts';
import * as pb from '@hookstream/proto';
import type { Handlers } from '../handlers.ts';

type Service = typeof pb.ControlPlaneService;
type Method = keyof Service;
type Req<K extends Method> = ReturnType<Service[K]['requestDeserialize']>;
type Res<K extends Method> = ReturnType<Service[K]['responseDeserialize']>;
// biome-ignore lint/suspicious/noExplicitAny: ts-proto's fromJSON takes any JSON value
type JsonCodec<T> = { fromJSON(object: any): T; toJSON(message: T): unknown };

/**
 * The proto3 JSON codecs of every RPC (ts-proto `fromJSON`/`toJSON`): the
 * console's JSON API is the gRPC API with JSON bodies. The mapped type makes
 * tsc fail when an RPC is added to the proto without its entry here.
 */
const CODECS: { readonly [K in Method]: { readonly request: JsonCodec<Req<K>>; readonly response: JsonCodec<Res<K>> } } = {
  createSource: { request: pb.CreateSourceRequest, response: pb.Source },
  getSource: { request: pb.GetSourceRequest, response: pb.Source },
  listSources: { request: pb.ListSourcesRequest, response: pb.ListSourcesResponse },
  updateSource: { request: pb.UpdateSourceRequest, response: pb.Source },
  deleteSource: { request: pb.DeleteSourceRequest, response: pb.DeleteResponse },
  rotateSourceSecret: { request: pb.RotateSecretRequest, response: pb.RotateSecretResponse },
  createEndpoint: { request: pb.CreateEndpointRequest, response: pb.Endpoint },
  getEndpoint: { request: pb.GetEndpointRequest, response: pb.Endpoint },
  listEndpoints: { request: pb.ListEndpointsRequest, response: pb.ListEndpointsResponse },
  updateEndpoint: { request: pb.UpdateEndpointRequest, response: pb.Endpoint },
  deleteEndpoint: { request: pb.DeleteEndpointRequest, response: pb.DeleteResponse },
  rotateEndpointSecret: { request: pb.RotateSecretRequest, response: pb.RotateSecretResponse },
  setEndpointEnabled: { request: pb.SetEndpointEnabledRequest, response: pb.Endpoint },
  checkFilter: { request: pb.CheckFilterRequest, response: pb.CheckFilterResponse },
  createSchema: { request: pb.CreateSchemaRequest, response: pb.Schema },
  getSchema: { request: pb.GetSchemaRequest, response: pb.Schema },
  listSchemas: { request: pb.ListSchemasRequest, response: pb.ListSchemasResponse },
  updateSchema: { request: pb.UpdateSchemaRequest, response: pb.Schema },
  deleteSchema: { request: pb.DeleteSchemaRequest, response: pb.DeleteResponse },
  listDeadLetters: { request: pb.ListDeadLettersRequest, response: pb.ListDeadLettersResponse },
  getDeadLetter: { request: pb.GetDeadLetterRequest, response: pb.DeadLetter },
  replayDeadLetters: { request: pb.ReplayDeadLettersRequest, response: pb.ReplayDeadLettersResponse },
  purgeDeadLetters: { request: pb.PurgeDeadLettersRequest, response: pb.PurgeDeadLettersResponse },
  summarizeDeadLetters: { request: pb.SummarizeDeadLettersRequest, response: pb.SummarizeDeadLettersResponse },
  getEvent: { request: pb.GetEventRequest, response: pb.Event },
  listEvents: { request: pb.ListEventsRequest, response: pb.ListEventsResponse },
  findEvents: { request: pb.FindEventsRequest, response: pb.FindEventsResponse },
  replayToEndpoint: { request: pb.ReplayToEndpointRequest, response: pb.ReplayToEndpointResponse },
  sendTestEvent: { request: pb.SendTestEventRequest, response: pb.SendTestEventResponse },
  stats: { request: pb.StatsRequest, response: pb.StatsResponse },
  statsSeries: { request: pb.StatsSeriesRequest, response: pb.StatsSeriesResponse },
  endpointHealth: { request: pb.EndpointHealthRequest, response: pb.EndpointHealthResponse },
  sourceHealth: { request: pb.SourceHealthRequest, response: pb.SourceHealthResponse },
  listDrift: { request: pb.ListDriftRequest, response: pb.ListDriftResponse },
};

/**
 * The contracts' role table covers exactly the RPCs of the proto: a new RPC
 * without a role (or a role for an RPC that is gone) fails to compile here.
 */
const _everyRpcHasARole: { readonly [K in Method]: Role } = RPC_ROLES;
const _everyRoleIsAnRpc: { readonly [K in RpcName]: unknown } = CODECS;
void _everyRpcHasARole;
void _everyRoleIsAnRpc;

/** The handler key of a URL's PascalCase RPC name (`ListEndpoints` → `listEndpoints`), or undefined. Pure. */
export function methodOf(name: string): Method | undefined {
  if (!/^[A-Z][A-Za-z]{1,63}$/.test(name)) return undefined;
  const key = `${name[0]?.toLowerCase()}${name.slice(1)}`;
  return Object.hasOwn(CODECS, key) ? (key as Method) : undefined;
}

/** The HTTP status for a gRPC status code. Pure. */
export function httpStatusOf(code: status): number {
  switch (code) {
    case status.OK:
      return 200;
    case status.INVALID_ARGUMENT:
    case status.OUT_OF_RANGE:
      return 400;
    case status.UNAUTHENTICATED:
      return 401;
    case status.PERMISSION_DENIED:
      return 403;
    case status.NOT_FOUND:
      return 404;
    case status.ALREADY_EXISTS:
    case status.ABORTED:
      return 409;
    case status.FAILED_PRECONDITION:
      return 412;
    case status.RESOURCE_EXHAUSTED:
      return 429;
    case status.UNIMPLEMENTED:
      return 501;
    case status.UNAVAILABLE:
      return 503;
    case status.DEADLINE_EXCEEDED:
      return 504;
    default:
      return 500;
  }
}

/**
 * Runs one RPC with a JSON request: decodes with the request's `fromJSON`
 * (unknown fields ignored, missing ones default), calls the same handler the
 * gRPC server calls, encodes the answer with the response's `toJSON`.
 * Throws what the handler throws (RpcError, ValidationError, …); a body that
 * is not a JSON object is the caller's to refuse.
 */
export async function callJson(handlers: Handlers, method: Method, body: unknown): Promise<unknown> {
  const codec = CODECS[method] as unknown as { readonly request: JsonCodec<unknown>; readonly response: JsonCodec<unknown> };
  const handler = handlers[method] as (request: unknown) => Promise<unknown>;
  const response = await handler(codec.request.fromJSON(body));
  return codec.response.toJSON(response);
}
