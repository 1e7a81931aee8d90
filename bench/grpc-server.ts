/**
 * The gRPC bench's backend, run as its own process (`node bench/grpc-server.ts`): a `@grpc/grpc-js`
 * server with the echo method of `grpc-echo.ts`, over h2c on an ephemeral loopback port. It prints
 * `listening on <port>` (so no port is raced for) and stops on SIGTERM.
 */
import { Server, ServerCredentials } from "@grpc/grpc-js"
import type { handleUnaryCall } from "@grpc/grpc-js"
import { echoMethod } from "./grpc-echo.ts"

const echo: handleUnaryCall<Buffer, Buffer> = (call, callback) => callback(null, call.request)

const server = new Server()
server.addService({ Echo: echoMethod }, { Echo: echo })
server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, port) => {
  if (error !== null) {
    process.stderr.write(`grpc-server: ${error.message}\n`)
    process.exit(1)
  }
  process.stdout.write(`listening on ${port}\n`)
})
process.on("SIGTERM", () => {
  server.forceShutdown()
  process.exit(0)
})
