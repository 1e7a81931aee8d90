/**
 * Where the config comes from: a file (YAML or JSON) with the process environment for `${NAME}`
 * and the `LB_*` overrides, or a value built in code (the demo, tests, embedding programs) in the
 * file's own syntax and validated the same way.
 *
 * Decoding is pure (`loadConfig`); what needs the disk is checked here, after it: the TLS
 * certificate and key must be readable PEM and belong together, so that `check` and `serve`
 * report a bad file as a config problem, at its line, before anything is bound.
 */
import { Context, Effect, Layer } from "effect"
import { createPrivateKey, X509Certificate } from "node:crypto"
import type { KeyObject } from "node:crypto"
import { readFile } from "node:fs/promises"
import type { Config } from "../domain/config/ConfigLoader.ts"
import { decodeConfig, loadConfig } from "../domain/config/ConfigLoader.ts"
import { parseYamlSource } from "../domain/config/YamlSource.ts"
import type { ConfigPath } from "../domain/config/YamlSource.ts"
import type { ConfigProblem } from "../domain/Errors.ts"
import { ConfigError } from "../domain/Errors.ts"
import type { StrategyTable } from "../domain/selection/Strategies.ts"
import { ConfigSource } from "../services/ConfigSource.ts"
import type { LoadedConfig } from "../services/ConfigSource.ts"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { Strategies } from "../services/Strategies.ts"

type Env = Readonly<Record<string, string | undefined>>

/** Where a problem's field is written; nowhere for a config built in code. */
type Locate = (path: ConfigPath) => { readonly line: number; readonly column: number } | undefined

const messageOf = (error: unknown): string => error instanceof Error ? error.message : String(error)

const readText = (file: string): Promise<string | { readonly failure: string }> =>
  readFile(file, "utf8").catch((error: unknown) => ({ failure: messageOf(error) }))

/**
 * Problems with `server.tls`: each file readable, the certificate a PEM certificate, the key a
 * PEM private key without a passphrase, and the key the certificate's own.
 */
const tlsProblems = (
  tls: { readonly cert: string; readonly key: string },
  locate: Locate
): Effect.Effect<ReadonlyArray<ConfigProblem>> =>
  Effect.promise(async () => {
    const problems: Array<ConfigProblem> = []
    const problem = (field: "cert" | "key", message: string) => {
      const path: ConfigPath = ["server", "tls", field]
      problems.push({ path: `server.tls.${field}`, message, ...locate(path) })
    }
    const [certText, keyText] = await Promise.all([readText(tls.cert), readText(tls.key)])
    let certificate: X509Certificate | undefined
    if (typeof certText !== "string") problem("cert", `cannot read the certificate: ${certText.failure}`)
    // Only PEM will do: Node's TLS takes nothing else, while `X509Certificate` also reads DER.
    else if (!certText.includes("-----BEGIN CERTIFICATE-----")) problem("cert", "not a PEM certificate")
    else {
      try {
        certificate = new X509Certificate(certText)
      } catch {
        problem("cert", "not a PEM certificate (it does not parse)")
      }
    }
    let key: KeyObject | undefined
    if (typeof keyText !== "string") problem("key", `cannot read the private key: ${keyText.failure}`)
    else if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(keyText)) problem("key", "not a PEM private key")
    else if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(keyText)) {
      problem("key", "the private key is encrypted; give it unencrypted (a passphrase is not supported)")
    } else {
      try {
        key = createPrivateKey(keyText)
      } catch {
        problem("key", "not a PEM private key (it does not parse)")
      }
    }
    if (certificate !== undefined && key !== undefined && !certificate.checkPrivateKey(key)) {
      problem("key", "the key does not match the certificate")
    }
    return problems
  })

/** Fails with the config's disk problems, if it has any; positions come from `locate`. */
const checkFiles = (config: Config, file: string, locate: () => Locate): Effect.Effect<Config, ConfigError> => {
  const tls = config.server.tls
  if (tls === undefined) return Effect.succeed(config)
  return tlsProblems(tls, locate()).pipe(
    Effect.flatMap((problems) =>
      problems.length === 0 ? Effect.succeed(config) : Effect.fail(new ConfigError({ file, problems }))
    )
  )
}

export const readConfigFile = (file: string, env: Env): Effect.Effect<Config, ConfigError> =>
  readConfigText(file, env).pipe(Effect.map((loaded) => loaded.config))

/**
 * The config in `file`, validated against `strategies` (the built-in ones when absent), with the
 * text it was read from (which a worker decodes again).
 */
export const readConfigText = (
  file: string,
  env: Env,
  strategies?: StrategyTable
): Effect.Effect<LoadedConfig, ConfigError> =>
  Effect.tryPromise({
    try: () => readFile(file, "utf8"),
    catch: (error) =>
      new ConfigError({
        file,
        problems: [{ path: "", message: `cannot read the file: ${messageOf(error)}` }]
      })
  }).pipe(
    Effect.flatMap((text) =>
      Effect.fromResult(loadConfig({ file, text, env, ...(strategies === undefined ? {} : { strategies }) })).pipe(
        // Positions are found again only when there is a problem to place.
        Effect.flatMap((config) => checkFiles(config, file, () => parseYamlSource(text, env).locate)),
        Effect.map((config) => ({ config, text }))
      )
    )
  )

const nowhere: Locate = () => undefined

export const ProxyConfigLive = {
  /** The config in `file`, which a reload reads again; it may name the `Strategies` provided. */
  fromFile: (file: string, env: Env = process.env): Layer.Layer<ProxyConfig | ConfigSource, ConfigError> =>
    Layer.effectContext(
      Effect.flatMap(
        Strategies,
        (strategies) =>
          readConfigText(file, env, strategies).pipe(
            Effect.map(({ config, text }) =>
              Context.make(ProxyConfig, config).pipe(
                Context.add(ConfigSource, ConfigSource.of({ file, text, load: readConfigText(file, env, strategies) }))
              )
            )
          )
      )
    ),
  /**
   * `value` is written as in the file (`"5s"`, `"10MiB"`); `name` labels any problem found. It
   * may name the `Strategies` provided.
   */
  fromObject: (
    value: unknown,
    options?: { readonly name?: string; readonly env?: Env }
  ): Layer.Layer<ProxyConfig | ConfigSource, ConfigError> => {
    const name = options?.name ?? "<config>"
    return Layer.merge(
      Layer.effect(
        ProxyConfig,
        Effect.flatMap(
          Strategies,
          (strategies) => Effect.fromResult(decodeConfig({ file: name, value, env: options?.env ?? {}, strategies }))
        ).pipe(Effect.flatMap((config) => checkFiles(config, name, () => nowhere)))
      ),
      Layer.succeed(ConfigSource, ConfigSource.of({ file: undefined, text: undefined, load: undefined }))
    )
  }
}
