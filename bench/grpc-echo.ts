/**
 * The one gRPC method the gRPC bench calls: `/switchyard.bench.Echo/Echo`, unary, answering each
 * request with its own bytes. Messages are Buffers serialised as themselves, so no protobuf library
 * runs on either side and the bench weighs the transport, not an encoding. Shared by the server
 * process (`grpc-server.ts`) and the load process (`grpc-load.ts`).
 */
import type { MethodDefinition } from "@grpc/grpc-js"
import { responseBody } from "./fixture.ts"

const asIs = (bytes: Buffer): Buffer => bytes

/** The service's path prefix, for a route that sends it to a pool of its own. */
export const echoServicePath = "/switchyard.bench.Echo"

export const echoMethod: MethodDefinition<Buffer, Buffer> = {
  path: `${echoServicePath}/Echo`,
  requestStream: false,
  responseStream: false,
  requestSerialize: asIs,
  requestDeserialize: asIs,
  responseSerialize: asIs,
  responseDeserialize: asIs
}

/** What every call sends: as many bytes as the HTTP benches' body. */
export const echoRequest = Buffer.from(responseBody)
