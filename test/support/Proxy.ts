/**
 * The whole proxy, in-process, on ephemeral loopback ports: built from a config object in the
 * file's own syntax, exactly as `switchyard serve` would build it from a file.
 */
import { Context, Effect, Layer } from "effect"
import type { Scope } from "effect"
import { AppLive } from "../../src/layers/AppLive.ts"
import { ProxyConfigLive } from "../../src/layers/ProxyConfigLive.ts"
import { AdminServer } from "../../src/services/AdminServer.ts"
import { BackendRegistry } from "../../src/services/BackendRegistry.ts"
import type { BackendRegistryShape } from "../../src/services/BackendRegistry.ts"
import { ProxyServer } from "../../src/services/ProxyServer.ts"

export interface RunningProxy {
  readonly url: string
  readonly port: number
  readonly adminUrl: string
  readonly adminPort: number
  readonly registry: BackendRegistryShape
}

export interface TestConfig {
  readonly server?: Record<string, unknown>
  readonly admin?: Record<string, unknown>
  readonly logging?: Record<string, unknown>
  readonly [key: string]: unknown
}

/** The proxy as `switchyard serve` builds it from `file` (so it can be reloaded). */
export const startProxyFromFile = (file: string): Effect.Effect<RunningProxy, unknown, Scope.Scope> =>
  Layer.build(AppLive(ProxyConfigLive.fromFile(file, {}))).pipe(Effect.map(running))

const running = (context: Context.Context<ProxyServer | AdminServer | BackendRegistry>): RunningProxy => {
  const proxy = Context.get(context, ProxyServer).address
  const admin = Context.get(context, AdminServer).address
  return {
    url: `http://127.0.0.1:${proxy.port}`,
    port: proxy.port,
    adminUrl: `http://127.0.0.1:${admin.port}`,
    adminPort: admin.port,
    registry: Context.get(context, BackendRegistry)
  }
}

export const startProxy = (
  config: TestConfig,
  options?: Parameters<typeof AppLive>[1]
): Effect.Effect<RunningProxy, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const context = yield* Layer.build(AppLive(
      ProxyConfigLive.fromObject({
        ...config,
        server: { host: "127.0.0.1", port: 0, ...config.server },
        admin: { host: "127.0.0.1", port: 0, ...config.admin },
        logging: { level: "error", access: false, ...config.logging }
      }),
      options
    ))
    return running(context)
  })
