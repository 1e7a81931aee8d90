/**
 * A health probe of the program's own in place of the HTTP one: a backend is down for maintenance
 * while a file `<name>.down` exists in the directory given first (HAProxy's and many load
 * balancers' drain file). `AppLive`'s `healthProbe` option swaps it in; the health supervisor,
 * thresholds and events stay Switchyard's, so a backend it fails leaves rotation as any other.
 *
 *   node examples/file-health-probe.ts /var/run/maintenance http://127.0.0.1:9001 http://127.0.0.1:9002
 *   touch /var/run/maintenance/b1.down     # b1 is taken out within a probe interval
 *
 * In a program of your own, import from "switchyard" instead of "../src/index.ts".
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { access } from "node:fs/promises"
import { join } from "node:path"
import { AppLive, HealthProbe, ProxyConfigLive, ProxyServer } from "../src/index.ts"

const [directory = ".", ...urls] = process.argv.slice(2)

const MaintenanceFileProbe = Layer.succeed(
  HealthProbe,
  HealthProbe.of({
    // A probe never fails: a present file is an unhealthy result, with the reason the log shows.
    probe: (backend) =>
      Effect.promise(() => access(join(directory, `${backend.name}.down`)).then(() => true, () => false)).pipe(
        Effect.map((down) =>
          down
            ? { healthy: false as const, reason: `${backend.name}.down is present` }
            : { healthy: true as const, latencyMs: 0 }
        )
      )
  })
)

const proxy = AppLive(
  ProxyConfigLive.fromObject({
    server: { host: "127.0.0.1", port: Number(process.env["PORT"] ?? 0) },
    admin: { host: "127.0.0.1", port: 0 },
    logging: { level: "info", format: "pretty", access: false },
    healthCheck: { interval: "200ms", timeout: "100ms", healthyThreshold: 1, unhealthyThreshold: 1 },
    backends: urls.map((url, index) => ({ name: `b${index}`, url }))
  }),
  { healthProbe: MaintenanceFileProbe }
)

const Announce = Layer.effectDiscard(
  Effect.map(ProxyServer, ({ address }) => console.log(`proxy listening on http://127.0.0.1:${address.port}`))
)

NodeRuntime.runMain(Layer.launch(Announce.pipe(Layer.provide(proxy))))
