/**
 * The control-plane API generated from proto/hookstream/v1/control.proto by
 * scripts/gen-proto.sh (ts-proto, grpc-js): message types with their
 * encode/decode functions, the `ControlPlaneService` definition a server
 * registers, the `ControlPlaneServer` handler interface and the
 * `ControlPlaneClient`.
 */

export { type ControlApi, type ControlClientOptions, connectControl } from './client.ts';
export { FILE_DESCRIPTOR_SET_BASE64 } from './gen/descriptor.generated.ts';
export * from './gen/hookstream/v1/control.generated.ts';
