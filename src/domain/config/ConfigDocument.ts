/**
 * The config in force, written back in the file's own syntax (durations as `"5s"`, sizes as
 * `"10MiB"`, every backend in its pool). Two uses: a change made through the backends API is
 * validated in this document, so a backend added by API meets exactly the rules of one written in
 * the file; and it is sent to the workers as text, which they decode as they decode a reloaded file.
 *
 * Decoding it gives the same config back (`loadConfig` of `configText(config)` is `config`). For
 * that, every backend's protocol is written out (a backend left at HTTP/1.1 in a pool whose
 * `protocol` is h2c would read back as h2c), and a literal `${` is written `$${`, so no value is
 * taken for an environment reference.
 */
import { Schema } from "effect"
import type { Config } from "./ConfigLoader.ts"
import { ConfigSchema } from "./ConfigSchema.ts"
import type { BackendConfig } from "./ConfigSchema.ts"

export type ConfigDocument = typeof ConfigSchema.Encoded

type BackendEntry = typeof BackendConfig.Encoded

const encode = Schema.encodeSync(ConfigSchema)

const withProtocol = (backend: BackendEntry): BackendEntry => ({ ...backend, protocol: backend.protocol ?? "http1" })

export const configDocument = (config: Config): ConfigDocument => {
  const encoded = encode(config)
  const pools = encoded.pools
  return {
    ...encoded,
    backends: encoded.backends.map(withProtocol),
    ...(pools === undefined ? {} : {
      pools: Object.fromEntries(
        Object.entries(pools).map(([name, pool]) => [name, { ...pool, backends: pool.backends.map(withProtocol) }])
      )
    })
  }
}

/** The document as JSON text (JSON is YAML), for a worker to decode. A function writes `$${`: a replacement string would read `$$` as one `$`. */
export const configText = (config: Config): string =>
  JSON.stringify(configDocument(config)).replaceAll("${", () => "$${")
