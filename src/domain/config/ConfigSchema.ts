/**
 * The config file's schema: every key, its type, its range and its default, in one place.
 * `config.example.yaml` documents the same keys for humans; `test/domain/config` keeps the two
 * in step. Decoding is strict (unknown keys are errors, see `ConfigLoader`).
 */
import { Effect, Schema } from "effect"
import { isIP } from "node:net"
import { strategyNames } from "../selection/Strategies.ts"
import { ByteSizeString, PositiveDuration } from "./Units.ts"

const withDefault = <S extends Schema.Constraint>(value: S["Encoded"]) =>
  Schema.withDecodingDefaultKey<S>(Effect.succeed(value))

const Host = Schema.String.check(Schema.isNonEmpty({ message: "Expected a host name or address" }))

const Port = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65_535 }))

const PositiveInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

const BackendUrl = Schema.String.check(
  Schema.makeFilter((text: string) => {
    if (!URL.canParse(text)) return `Expected an absolute http(s) URL, got ${JSON.stringify(text)}`
    const url = new URL(text)
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      return `Expected an http or https URL, got ${JSON.stringify(url.protocol)}`
    }
    if (url.search !== "" || url.hash !== "") return "Expected a URL without query or fragment"
    if (url.username !== "" || url.password !== "") return "Expected a URL without credentials"
    return undefined
  })
)

const BackendName = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, {
    message: "Expected a name of letters, digits, '.', '_', ':' or '-'"
  })
)

/** How a backend is spoken to: HTTP/1.1, HTTP/2 with prior knowledge (`http:`), HTTP/2 over TLS (`https:`, ALPN h2). */
export const BackendProtocol = Schema.Literals(["http1", "h2c", "h2"])

export const BackendConfig = Schema.Struct({
  url: BackendUrl,
  name: Schema.optionalKey(BackendName),
  weight: PositiveInt.pipe(withDefault(1)),
  /** Over HTTP/2 it caps streams in flight, which share one connection. */
  maxConnections: Schema.optionalKey(PositiveInt),
  /** Absent: the pool's `protocol`, else `http1`. */
  protocol: Schema.optionalKey(BackendProtocol),
  /** `dns`: every A/AAAA address of the URL's host is a backend, `name@address`, re-resolved on TTL. */
  discovery: Schema.optionalKey(Schema.Literal("dns"))
})

/**
 * A DNS server as `dns.Resolver.setServers` takes it: an IP address, with an optional port
 * (`10.0.0.2`, `127.0.0.1:5353`, `::1`, `[::1]:5353`). A host name would need a resolver itself.
 */
const DnsServer = Schema.String.check(
  Schema.makeFilter((text: string) => {
    const match = /^\[(.+)\](?::(\d+))?$/.exec(text) ?? /^([\d.]+)(?::(\d+))?$/.exec(text)
    const family = isIP(match?.[1] ?? text)
    const fits = match === null || text.startsWith("[") ? family === 6 : family === 4
    const port = Number(match?.[2] ?? 53)
    return fits && port >= 1 && port <= 65_535
      ? undefined
      : `Expected a DNS server's IP address, with an optional port ("127.0.0.1:5353", "[::1]:53"), got ${
        JSON.stringify(text)
      }`
  })
)

/** Where `discovery: dns` backends are resolved; absent: the system's DNS servers. */
export const DiscoveryConfig = Schema.Struct({
  servers: Schema.Array(DnsServer).check(Schema.isMinLength(1, { message: "Expected at least one DNS server" }))
})

/** Certificate and key files (PEM) for HTTPS on the proxy listener; paths relative to the config file. */
export const TlsConfig = Schema.Struct({
  cert: Schema.String.check(Schema.isNonEmpty({ message: "Expected the path of a PEM certificate file" })),
  key: Schema.String.check(Schema.isNonEmpty({ message: "Expected the path of a PEM private key file" }))
})

export const ServerConfig = Schema.Struct({
  host: Host.pipe(withDefault("0.0.0.0")),
  port: Port.pipe(withDefault(8080)),
  maxBodySize: ByteSizeString.pipe(withDefault("10MiB")),
  maxHeaderSize: ByteSizeString.check(
    Schema.isBetween({ minimum: 1_024, maximum: 1_048_576 }, { message: "Expected a size between 1KiB and 1MiB" })
  ).pipe(withDefault("16KiB")),
  gracePeriod: PositiveDuration.pipe(withDefault("30s")),
  tls: Schema.optionalKey(TlsConfig),
  /** With `tls`: ALPN offers `h2` beside `http/1.1`. */
  http2: Schema.Boolean.pipe(withDefault(true)),
  /** The plain listener also takes HTTP/2 with prior knowledge (HTTP/1.1 is still served). */
  h2c: Schema.Boolean.pipe(withDefault(false)),
  /** Concurrent streams an HTTP/2 client may open on one connection. */
  http2MaxStreams: Schema.Int.check(
    Schema.isBetween({ minimum: 1, maximum: 10_000 }, { message: "Expected a whole number from 1 to 10000" })
  ).pipe(withDefault(100))
})

export const AdminConfig = Schema.Struct({
  host: Host.pipe(withDefault("127.0.0.1")),
  port: Port.pipe(withDefault(9090)),
  token: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1)))
})

export const TimeoutsConfig = Schema.Struct({
  connect: PositiveDuration.pipe(withDefault("2s")),
  headers: PositiveDuration.pipe(withDefault("10s")),
  request: PositiveDuration.pipe(withDefault("30s")),
  idle: PositiveDuration.pipe(withDefault("60s"))
})

export const HealthCheckConfig = Schema.Struct({
  path: Schema.String.check(Schema.isStartingWith("/", { message: "Expected a path starting with \"/\"" })).pipe(
    withDefault("/health")
  ),
  interval: PositiveDuration.pipe(withDefault("5s")),
  timeout: PositiveDuration.pipe(withDefault("2s")),
  healthyThreshold: PositiveInt.pipe(withDefault(2)),
  unhealthyThreshold: PositiveInt.pipe(withDefault(3)),
  /** Probe with `grpc.health.v1.Health/Check` (the backends must speak h2c or h2) instead of `GET path`. */
  grpc: Schema.Boolean.pipe(withDefault(false))
})

export const CircuitBreakerConfig = Schema.Struct({
  failureThreshold: PositiveInt.pipe(withDefault(5)),
  resetTimeout: PositiveDuration.pipe(withDefault("30s")),
  halfOpenRequests: PositiveInt.pipe(withDefault(1))
})

const Percent = Schema.Number.check(
  Schema.isBetween({ minimum: 0, maximum: 100 }, { message: "Expected a percentage from 0 to 100" })
)

/** Retries may add at most `percent` of the requests of the last `window`, plus a floor (Linkerd). */
export const RetryBudgetConfig = Schema.Struct({
  percent: Percent.pipe(withDefault(20)),
  minRetriesPerSecond: Schema.Number.check(Schema.isGreaterThanOrEqualTo(0)).pipe(withDefault(3)),
  window: PositiveDuration.pipe(withDefault("10s"))
})

export const RetryConfig = Schema.Struct({
  attempts: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 10 })).pipe(withDefault(3)),
  baseDelay: PositiveDuration.pipe(withDefault("25ms")),
  maxDelay: PositiveDuration.pipe(withDefault("1s")),
  budget: Schema.optionalKey(RetryBudgetConfig),
  /** A backend's 503 (or 429) with `Retry-After` keeps it out that long, at most `maxDelay`. */
  honorRetryAfter: Schema.Boolean.pipe(withDefault(false))
})

export const EwmaConfig = Schema.Struct({
  decay: PositiveDuration.pipe(withDefault("10s")),
  /** `p2c-ewma`: an unmeasured backend starts at this estimate and decays (absent: 30 ms, decaying too). */
  defaultRtt: Schema.optionalKey(PositiveDuration),
  /** `p2c-ewma`: a refused, reset or overloaded request counts as at least this slow. */
  failurePenalty: Schema.optionalKey(PositiveDuration)
})

/** Outlier ejection that learns (Envoy): open periods grow with each ejection, within a cap. */
export const OutlierDetectionConfig = Schema.Struct({
  baseEjectionTime: PositiveDuration.pipe(withDefault("30s")),
  maxEjectionTime: PositiveDuration.pipe(withDefault("300s")),
  maxEjectionPercent: Percent.pipe(withDefault(50))
})

/** A backend back in rotation ramps from `minWeightPercent` of its weight to all of it. */
export const SlowStartConfig = Schema.Struct({
  window: PositiveDuration.pipe(withDefault("30s")),
  minWeightPercent: Schema.Number.check(
    Schema.isBetween({ minimum: 1, maximum: 100 }, { message: "Expected a percentage from 1 to 100" })
  ).pipe(withDefault(10)),
  aggression: Schema.Number.check(Schema.isGreaterThan(0)).pipe(withDefault(1))
})

/** `client-ip`, `path`, `header:<Name>` or `cookie:<name>`: what `consistent-hash` hashes. */
export const HashKey = Schema.String.check(
  Schema.isPattern(/^(client-ip|path|header:[!#$%&'*+.^_`|~0-9A-Za-z-]+|cookie:[^\s;=,]+)$/, {
    message: `Expected "client-ip", "path", "header:<Name>" or "cookie:<name>"`
  })
)

export const ConsistentHashConfig = Schema.Struct({
  key: HashKey.pipe(withDefault("client-ip")),
  /**
   * Bounded loads: no backend takes more than this percentage of the mean in-flight load; a key
   * whose backend is at the cap goes on around the ring. Absent: plain consistent hashing.
   */
  balanceFactor: Schema.optionalKey(
    Schema.Number.check(Schema.isGreaterThanOrEqualTo(100, { message: "Expected a percentage of at least 100" }))
  )
})

/** `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS. */
const RedisUrl = Schema.String.check(
  Schema.makeFilter((text: string) => {
    if (!URL.canParse(text)) return `Expected a redis:// or rediss:// URL, got ${JSON.stringify(text)}`
    const url = new URL(text)
    if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
      return `Expected a redis or rediss URL, got ${JSON.stringify(url.protocol)}`
    }
    if (url.hostname === "") return "Expected a URL with a host"
    if (!/^(\/\d*)?$/.test(url.pathname)) {
      return `Expected a database number as the path, got ${JSON.stringify(url.pathname)}`
    }
    if (url.search !== "" || url.hash !== "") return "Expected a URL without query or fragment"
    return undefined
  })
)

/** Where the buckets of every instance are kept together, and what a request does when it cannot be asked. */
export const RateLimitStoreConfig = Schema.Struct({
  redis: RedisUrl,
  /** A Redis slower than this counts as down for that request. */
  timeout: PositiveDuration.pipe(withDefault("50ms")),
  /** Redis down or slow: admit (fail open, as Envoy and Kong do) or refuse with 429. */
  onError: Schema.Literals(["allow", "deny"]).pipe(withDefault("allow"))
})

export const RateLimitConfig = Schema.Struct({
  requestsPerSecond: Schema.Number.check(Schema.isGreaterThan(0)),
  burst: PositiveInt,
  /** Shared buckets on Redis; each instance keeps its own when absent. */
  store: Schema.optionalKey(RateLimitStoreConfig)
})

/** The HTTP-aware response cache for GET and HEAD. */
export const CacheConfig = Schema.Struct({
  maxEntries: PositiveInt.pipe(withDefault(1000)),
  maxBytes: ByteSizeString.pipe(withDefault("64MiB")),
  ttl: PositiveDuration.pipe(withDefault("300s"))
})

export const TracingConfig = Schema.Struct({
  otlpEndpoint: Schema.String.check(
    Schema.makeFilter((text: string) =>
      URL.canParse(text) && /^https?:$/.test(new URL(text).protocol)
        ? undefined
        : `Expected an http(s) URL of an OTLP/HTTP traces endpoint, got ${JSON.stringify(text)}`
    )
  ),
  serviceName: Schema.String.check(Schema.isNonEmpty()).pipe(withDefault("switchyard"))
})

export const LoggingConfig = Schema.Struct({
  level: Schema.Literals(["debug", "info", "warn", "error"]).pipe(withDefault("info")),
  format: Schema.Literals(["json", "pretty"]).pipe(withDefault("json")),
  access: Schema.Boolean.pipe(withDefault(true))
})

export const MetricsConfig = Schema.Struct({
  historyInterval: PositiveDuration.pipe(withDefault("1s")),
  historySize: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 100_000 })).pipe(withDefault(300))
})

export const StrategyName = Schema.Literals(strategyNames)

/**
 * Sections a file may leave out: decoding fills each absent (or empty) one with `{}`, so its own
 * defaults apply. They are not wrapped in `withDecodingDefaultKey` because that wrapper validates
 * the section's encoded form first and then reports only that pass's problems, hiding the rest.
 */
const sections = {
  server: ServerConfig,
  admin: AdminConfig,
  circuitBreaker: CircuitBreakerConfig,
  retry: RetryConfig,
  timeouts: TimeoutsConfig,
  ewma: EwmaConfig,
  consistentHash: ConsistentHashConfig,
  metrics: MetricsConfig,
  logging: LoggingConfig
}

export const optionalSections = Object.keys(sections) as ReadonlyArray<keyof typeof sections>

const PoolName = Schema.String.check(
  Schema.isPattern(/^[a-z][a-z0-9_-]*$/, { message: "Expected a pool name of lowercase letters, digits, '_' or '-'" })
)

/** A named pool beside the default one: its own backends, strategy and health checks. */
export const PoolConfig = Schema.Struct({
  strategy: StrategyName.pipe(withDefault("round-robin")),
  /** Every backend's `protocol` unless it says otherwise. */
  protocol: Schema.optionalKey(BackendProtocol),
  backends: Schema.Array(BackendConfig).check(Schema.isMinLength(1, { message: "Expected at least one backend" })),
  healthCheck: Schema.optionalKey(HealthCheckConfig)
})

export const RouteConfig = Schema.Struct({
  match: Schema.Struct({
    /** The request's host, without port, matched case-insensitively. */
    host: Schema.optionalKey(
      Schema.String.check(Schema.isPattern(/^[A-Za-z0-9.-]+$/, { message: "Expected a host name" }))
    ),
    /** Matches the path itself and anything below it (`/assets` matches `/assets/x`, not `/assetsx`). */
    pathPrefix: Schema.optionalKey(
      Schema.String.check(Schema.isStartingWith("/", { message: "Expected a path starting with \"/\"" }))
    )
  }),
  pool: PoolName
})

export const ConfigSchema = Schema.Struct({
  ...sections,
  strategy: StrategyName.pipe(withDefault("round-robin")),
  backends: Schema.Array(BackendConfig).check(Schema.isMinLength(1, { message: "Expected at least one backend" })),
  /** Active health checks run only when this section is present: not every backend has `/health`. */
  healthCheck: Schema.optionalKey(HealthCheckConfig),
  /** Named pools beside the default one (the top-level `backends`). */
  pools: Schema.optionalKey(Schema.Record(PoolName, PoolConfig)),
  /** Which requests go to which pool; unmatched requests go to the default pool. */
  routes: Schema.optionalKey(Schema.Array(RouteConfig)),
  /** Outlier ejection that learns; the classic breaker's open periods when absent. */
  outlierDetection: Schema.optionalKey(OutlierDetectionConfig),
  /** Slow start for backends coming back into rotation; off when absent. */
  slowStart: Schema.optionalKey(SlowStartConfig),
  /** Cache cacheable GET/HEAD responses; off when absent. */
  cache: Schema.optionalKey(CacheConfig),
  /** A token bucket per client address; no limit when absent. */
  rateLimit: Schema.optionalKey(RateLimitConfig),
  /** OpenTelemetry spans for every proxied request, exported over OTLP/HTTP; off when absent. */
  tracing: Schema.optionalKey(TracingConfig),
  /** A file to append every lifecycle event to, one JSON object per line (`switchyard replay`). */
  journal: Schema.optionalKey(Schema.String.check(Schema.isNonEmpty({ message: "Expected a file path" }))),
  trustProxy: Schema.Boolean.pipe(withDefault(false)),
  /** The DNS servers `discovery: dns` backends are resolved with; the system's when absent. */
  discovery: Schema.optionalKey(DiscoveryConfig),
  /** Proxy worker processes (`auto`: one per available CPU); 1 serves from the one process. */
  workers: Schema.Union([
    Schema.Literal("auto"),
    PositiveInt.check(Schema.isLessThanOrEqualTo(256, { message: "Expected at most 256 workers" }))
  ]).pipe(withDefault(1))
})

/** The file as decoded: defaults applied, durations and sizes typed. */
export type DecodedConfig = typeof ConfigSchema.Type
