/**
 * The config file's schema: every key, its type, its range and its default, in one place.
 * `config.example.yaml` documents the same keys for humans; `test/domain/config` keeps the two
 * in step. Decoding is strict (unknown keys are errors, see `ConfigLoader`).
 */
import { Effect, Schema, SchemaIssue, SchemaTransformation } from "effect"
import { isIP } from "node:net"
import { strategyNames } from "../selection/Strategies.ts"
import { ByteSizeString, PositiveDuration } from "./Units.ts"

/** A key's default, applied when decoding and shown in the JSON Schema (`switchyard schema`). */
const withDefault = <S extends Schema.Constraint>(value: S["Encoded"]) => (self: S) =>
  Schema.annotateEncoded<Schema.withDecodingDefaultKey<S>>({ default: value })(
    Schema.withDecodingDefaultKey<S>(Effect.succeed(value))(self)
  )

/**
 * What a key is, for editors and `switchyard schema`. On the encoded side: the JSON Schema
 * describes the file as written.
 */
const describe = <S extends Schema.Top>(description: string) => Schema.annotateEncoded<S>({ description })

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
  }, { toJsonSchema: () => [{ pattern: "^https?://" }, true] })
)

const BackendName = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/u, {
    message: "Expected a name of letters, digits, '.', '_', ':' or '-'"
  })
)

/** How a backend is spoken to: HTTP/1.1, HTTP/2 with prior knowledge (`http:`), HTTP/2 over TLS (`https:`, ALPN h2). */
export const BackendProtocol = Schema.Literals(["http1", "h2c", "h2"])

export const BackendConfig = Schema.Struct({
  url: BackendUrl.pipe(describe("http(s)://host:port[/prefix]; a path is prepended to every proxied path")),
  name: Schema.optionalKey(BackendName).pipe(
    describe("Unique; the `backend` label in logs, metrics and /status (default: host:port)")
  ),
  weight: PositiveInt.pipe(
    withDefault(1),
    describe("Its share under the weighted, hashing and slow-start rules")
  ),
  maxConnections: Schema.optionalKey(PositiveInt).pipe(
    describe(
      "Cap on requests in flight (over HTTP/2: streams, which share one connection); at the cap it takes no new ones"
    )
  ),
  protocol: Schema.optionalKey(BackendProtocol).pipe(
    describe(
      "http1 | h2c (HTTP/2 with prior knowledge, http://) | h2 (https://, ALPN h2); absent: the pool's, else http1"
    )
  ),
  discovery: Schema.optionalKey(Schema.Literal("dns")).pipe(
    describe("dns: every A/AAAA address of the URL's host is a backend `name@address`, re-resolved on TTL")
  )
}).pipe(describe("A backend: where it is and how it is spoken to"))

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
  servers: Schema.Array(DnsServer).check(Schema.isMinLength(1, { message: "Expected at least one DNS server" })).pipe(
    describe("IP addresses, each with an optional port (53): \"10.0.0.2\", \"127.0.0.1:5353\", \"[::1]:53\"")
  )
})

/** Certificate and key files (PEM) for HTTPS on the proxy listener; paths relative to the config file. */
export const TlsConfig = Schema.Struct({
  cert: Schema.String.check(Schema.isNonEmpty({ message: "Expected the path of a PEM certificate file" })).pipe(
    describe("The certificate chain (PEM), relative to the config file")
  ),
  key: Schema.String.check(Schema.isNonEmpty({ message: "Expected the path of a PEM private key file" })).pipe(
    describe("Its private key (PEM, unencrypted), relative to the config file")
  )
})

export const ServerConfig = Schema.Struct({
  host: Host.pipe(withDefault("0.0.0.0"), describe("Address to bind")),
  port: Port.pipe(withDefault(8080), describe("Port to bind (0 picks a free one)")),
  maxBodySize: ByteSizeString.pipe(withDefault("10MiB"), describe("Request bodies larger than this get 413")),
  maxHeaderSize: ByteSizeString.check(
    Schema.isBetween({ minimum: 1_024, maximum: 1_048_576 }, { message: "Expected a size between 1KiB and 1MiB" })
  ).pipe(withDefault("16KiB"), describe("Request heads larger than this get 431 (1KiB to 1MiB)")),
  gracePeriod: PositiveDuration.pipe(
    withDefault("30s"),
    describe("On SIGTERM/SIGINT, how long in-flight requests may take to finish")
  ),
  tls: Schema.optionalKey(TlsConfig).pipe(describe("Terminate HTTPS on the proxy listener; absent: plain HTTP")),
  http2: Schema.Boolean.pipe(
    withDefault(true),
    describe("With tls: ALPN offers h2 beside http/1.1 (false: http/1.1 only)")
  ),
  h2c: Schema.Boolean.pipe(
    withDefault(false),
    describe("The plain listener also takes HTTP/2 with prior knowledge (HTTP/1.1 is still served)")
  ),
  http2MaxStreams: Schema.Int.check(
    Schema.isBetween({ minimum: 1, maximum: 10_000 }, { message: "Expected a whole number from 1 to 10000" })
  ).pipe(withDefault(100), describe("Concurrent streams an HTTP/2 client may open on one connection"))
})

export const AdminConfig = Schema.Struct({
  host: Host.pipe(withDefault("127.0.0.1"), describe("Address to bind; loopback by default: it is a control surface")),
  port: Port.pipe(withDefault(9090), describe("Port to bind (0 picks a free one)")),
  token: Schema.optionalKey(Schema.String.check(Schema.isMinLength(1))).pipe(
    describe("Every admin route but /health then needs `Authorization: Bearer <token>` (write ${ADMIN_TOKEN})")
  )
})

export const TimeoutsConfig = Schema.Struct({
  connect: PositiveDuration.pipe(withDefault("2s"), describe("To open a connection to a backend (then 504)")),
  headers: PositiveDuration.pipe(
    withDefault("10s"),
    describe("For a client to send its complete request head (then 408 and disconnect)")
  ),
  request: PositiveDuration.pipe(withDefault("30s"), describe("For a backend's response head to arrive (then 504)")),
  idle: PositiveDuration.pipe(
    withDefault("60s"),
    describe("Idle keep-alive connections (both sides), and silence mid-transfer")
  )
})

export const HealthCheckConfig = Schema.Struct({
  path: Schema.String.check(Schema.isStartingWith("/", { message: "Expected a path starting with \"/\"" })).pipe(
    withDefault("/health"),
    describe("GET this path on each backend; 2xx and 3xx count as healthy")
  ),
  interval: PositiveDuration.pipe(withDefault("5s"), describe("Time between probes of one backend")),
  timeout: PositiveDuration.pipe(withDefault("2s"), describe("A probe not answered within this fails")),
  healthyThreshold: PositiveInt.pipe(
    withDefault(2),
    describe("Consecutive successes that bring an unhealthy backend back")
  ),
  unhealthyThreshold: PositiveInt.pipe(
    withDefault(3),
    describe("Consecutive failures that take a healthy backend out")
  ),
  grpc: Schema.Boolean.pipe(
    withDefault(false),
    describe("Probe with grpc.health.v1.Health/Check (the backends must speak h2c or h2) instead of GET path")
  )
}).pipe(describe("Active health checks; they run only where this section is present"))

export const CircuitBreakerConfig = Schema.Struct({
  failureThreshold: PositiveInt.pipe(
    withDefault(5),
    describe("Consecutive failed requests (connect error, reset, timeout, 5xx) that open it")
  ),
  resetTimeout: PositiveDuration.pipe(
    withDefault("30s"),
    describe("Open -> half-open after this; doubled on each re-trip, up to 8x")
  ),
  halfOpenRequests: PositiveInt.pipe(
    withDefault(1),
    describe("Trial requests let through at once while half-open; successes needed to close")
  )
})

const Percent = Schema.Finite.check(
  Schema.isBetween({ minimum: 0, maximum: 100 }, { message: "Expected a percentage from 0 to 100" })
)

/** Retries may add at most `percent` of the requests of the last `window`, plus a floor (Linkerd). */
export const RetryBudgetConfig = Schema.Struct({
  percent: Percent.pipe(withDefault(20), describe("Of the requests sent in the last `window`")),
  minRetriesPerSecond: Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0)).pipe(
    withDefault(3),
    describe("Retries allowed whatever the traffic, so a quiet proxy can still retry")
  ),
  window: PositiveDuration.pipe(withDefault("10s"), describe("How far back requests and retries are counted"))
})

export const RetryConfig = Schema.Struct({
  attempts: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 10 })).pipe(
    withDefault(3),
    describe("Total tries, the first included; 1 disables retries")
  ),
  baseDelay: PositiveDuration.pipe(withDefault("25ms"), describe("First backoff; doubles each retry, with jitter")),
  maxDelay: PositiveDuration.pipe(withDefault("1s"), describe("Cap on one backoff (and on an honoured Retry-After)")),
  budget: Schema.optionalKey(RetryBudgetConfig).pipe(
    describe("Retries may add at most this share of live traffic (Linkerd, Envoy); no budget when absent")
  ),
  honorRetryAfter: Schema.Boolean.pipe(
    withDefault(false),
    describe("A backend's 503 (or 429) with Retry-After keeps it out that long, at most maxDelay")
  )
})

export const EwmaConfig = Schema.Struct({
  decay: PositiveDuration.pipe(
    withDefault("10s"),
    describe("Time constant of the latency averages behind the latency-aware strategies")
  ),
  defaultRtt: Schema.optionalKey(PositiveDuration).pipe(
    describe("p2c-ewma: an unmeasured backend starts at this estimate and decays (absent: 30ms, decaying too)")
  ),
  failurePenalty: Schema.optionalKey(PositiveDuration).pipe(
    describe("p2c-ewma: a refused, reset or overloaded request counts as at least this slow")
  )
})

/** Outlier ejection that learns (Envoy): open periods grow with each ejection, within a cap. */
export const OutlierDetectionConfig = Schema.Struct({
  baseEjectionTime: PositiveDuration.pipe(
    withDefault("30s"),
    describe("Open period = base x ejections so far (one forgiven per base spent back in service)")
  ),
  maxEjectionTime: PositiveDuration.pipe(withDefault("300s"), describe("Cap on one open period")),
  maxEjectionPercent: Percent.pipe(
    withDefault(50),
    describe("Never more than this share of a pool ejected at once; further openings are declined")
  )
})

/** A backend back in rotation ramps from `minWeightPercent` of its weight to all of it. */
export const SlowStartConfig = Schema.Struct({
  window: PositiveDuration.pipe(withDefault("30s"), describe("Time to full weight")),
  minWeightPercent: Schema.Finite.check(
    Schema.isBetween({ minimum: 1, maximum: 100 }, { message: "Expected a percentage from 1 to 100" })
  ).pipe(withDefault(10), describe("Where the ramp starts, as a percentage of the weight")),
  aggression: Schema.Finite.check(Schema.isGreaterThan(0)).pipe(
    withDefault(1),
    describe("weight = (elapsed / window)^(1 / aggression); 1 is linear")
  )
})

/** `client-ip`, `path`, `header:<Name>` or `cookie:<name>`: what `consistent-hash` hashes. */
export const HashKey = Schema.String.check(
  Schema.isPattern(/^(client-ip|path|header:[!#$%&'*+.^_`|~0-9A-Za-z-]+|cookie:[^\s;=,]+)$/u, {
    message: `Expected "client-ip", "path", "header:<Name>" or "cookie:<name>"`
  })
)

export const ConsistentHashConfig = Schema.Struct({
  key: HashKey.pipe(
    withDefault("client-ip"),
    describe("What consistent-hash hashes: client-ip | path | header:<Name> | cookie:<name>")
  ),
  balanceFactor: Schema.optionalKey(
    Schema.Finite.check(Schema.isGreaterThanOrEqualTo(100, { message: "Expected a percentage of at least 100" }))
  ).pipe(describe(
    "Bounded loads: no backend takes more than this percentage of the mean in-flight load; a key whose backend is at the cap goes on around the ring. Absent: plain consistent hashing"
  ))
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
  }, { toJsonSchema: () => [{ pattern: "^rediss?://" }, true] })
)

/** Where the buckets of every instance are kept together, and what a request does when it cannot be asked. */
export const RateLimitStoreConfig = Schema.Struct({
  redis: RedisUrl.pipe(describe("redis://[user:password@]host[:port][/db], or rediss:// for TLS")),
  timeout: PositiveDuration.pipe(
    withDefault("50ms"),
    describe("A Redis slower than this counts as down for that request")
  ),
  onError: Schema.Literals(["allow", "deny"]).pipe(
    withDefault("allow"),
    describe("Redis down or slow: allow (fail open, as Envoy and Kong do, counted) or deny (429)")
  )
})

export const RateLimitConfig = Schema.Struct({
  requestsPerSecond: Schema.Finite.check(Schema.isGreaterThan(0)).pipe(
    describe("Refill rate (may be fractional: 0.5 is one request every two seconds)")
  ),
  burst: PositiveInt.pipe(describe("Bucket size: requests a quiet client may send at once")),
  store: Schema.optionalKey(RateLimitStoreConfig).pipe(
    describe("Shared buckets on Redis, one per client for every instance; each instance keeps its own when absent")
  )
})

/** The HTTP-aware response cache for GET and HEAD. */
export const CacheConfig = Schema.Struct({
  maxEntries: PositiveInt.pipe(withDefault(1000), describe("Responses kept at most")),
  maxBytes: ByteSizeString.pipe(withDefault("64MiB"), describe("Bodies kept at most, in total")),
  ttl: PositiveDuration.pipe(
    withDefault("300s"),
    describe("The longest a response is kept, whatever its Cache-Control says")
  )
})

export const TracingConfig = Schema.Struct({
  otlpEndpoint: Schema.String.check(
    Schema.makeFilter((text: string) =>
      URL.canParse(text) && /^https?:$/.test(new URL(text).protocol)
        ? undefined
        : `Expected an http(s) URL of an OTLP/HTTP traces endpoint, got ${JSON.stringify(text)}`, {
      toJsonSchema: () => [{ pattern: "^https?://" }, true]
    })
  ).pipe(describe("The collector's OTLP/HTTP traces endpoint (http://host:4318/v1/traces)")),
  serviceName: Schema.String.check(Schema.isNonEmpty()).pipe(
    withDefault("switchyard"),
    describe("The service.name of the spans")
  )
})

export const LoggingConfig = Schema.Struct({
  level: Schema.Literals(["debug", "info", "warn", "error"]).pipe(
    withDefault("info"),
    describe("The lowest level logged")
  ),
  format: Schema.Literals(["json", "pretty"]).pipe(
    withDefault("json"),
    describe("json (one object per line) | pretty")
  ),
  access: Schema.Boolean.pipe(
    withDefault(true),
    describe("One line per request: time, id, client, method, path, status, backend, duration, bytes, retries")
  )
})

export const MetricsConfig = Schema.Struct({
  historyInterval: PositiveDuration.pipe(
    withDefault("1s"),
    describe("One sample of every backend's state each interval (the dashboard's trend)")
  ),
  historySize: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 100_000 })).pipe(
    withDefault(300),
    describe("Samples kept (300 x 1s = the last five minutes)")
  )
})

export const StrategyName = Schema.Literals(strategyNames)

/**
 * A config's `strategy`: one of `names`, worded as Schema words a missed choice (so "did you
 * mean" applies). The name is checked when decoding only, so that a config decoded against an
 * embedding program's table is written back out (reload diffs, documents) by this schema too;
 * the JSON Schema lists `names`.
 */
const strategyChoice = (names: ReadonlyArray<string>) =>
  Schema.String.check(Schema.makeFilter(() => undefined, { toJsonSchema: () => [{ enum: [...names] }, true] })).pipe(
    Schema.decodeTo(
      Schema.String,
      SchemaTransformation.transformEffect<string, string>({
        decode: (name) =>
          names.includes(name)
            ? Effect.succeed(name)
            : Effect.fail(
              new SchemaIssue.InvalidValue({
                message: `Expected ${names.map((known) => JSON.stringify(known)).join(" | ")}, got ${
                  JSON.stringify(name)
                }`
              }, name)
            ),
        encode: Effect.succeed
      })
    )
  )

/**
 * Sections a file may leave out: decoding fills each absent (or empty) one with `{}`, so its own
 * defaults apply. They are not wrapped in `withDecodingDefaultKey` because that wrapper validates
 * the section's encoded form first and then reports only that pass's problems, hiding the rest.
 */
const sections = {
  server: ServerConfig.pipe(describe("The proxy listener")),
  admin: AdminConfig.pipe(describe("The admin API (/health, /status, /metrics, the dashboard)")),
  circuitBreaker: CircuitBreakerConfig.pipe(describe("Each backend's circuit breaker")),
  retry: RetryConfig.pipe(describe("Retries of failed requests on another backend")),
  timeouts: TimeoutsConfig.pipe(describe("Timeouts on both sides of the proxy")),
  ewma: EwmaConfig.pipe(describe("The latency averages behind the latency-aware strategies")),
  consistentHash: ConsistentHashConfig.pipe(describe("The consistent-hash strategy")),
  metrics: MetricsConfig.pipe(describe("The trend buffer behind the dashboard")),
  logging: LoggingConfig.pipe(describe("The serve log on stdout"))
}

export const optionalSections = Object.keys(sections) as ReadonlyArray<keyof typeof sections>

const PoolName = Schema.String.check(
  Schema.isPattern(/^[a-z][a-z0-9_-]*$/u, { message: "Expected a pool name of lowercase letters, digits, '_' or '-'" })
)

/** A named pool beside the default one: its own backends, strategy and health checks. */
export const PoolConfig = Schema.Struct({
  strategy: strategyChoice(strategyNames).pipe(withDefault("round-robin"), describe("This pool's strategy")),
  protocol: Schema.optionalKey(BackendProtocol).pipe(describe("Every backend's protocol unless it says otherwise")),
  backends: Schema.Array(BackendConfig).check(Schema.isMinLength(1, { message: "Expected at least one backend" }))
    .pipe(describe("At least one; names unique across all pools")),
  healthCheck: Schema.optionalKey(HealthCheckConfig)
}).pipe(describe("A pool: its own backends, strategy and health checks"))

export const RouteConfig = Schema.Struct({
  match: Schema.Struct({
    host: Schema.optionalKey(
      Schema.String.check(Schema.isPattern(/^[A-Za-z0-9.-]+$/u, { message: "Expected a host name" }))
    ).pipe(describe("The request's host, without port, matched case-insensitively")),
    pathPrefix: Schema.optionalKey(
      Schema.String.check(Schema.isStartingWith("/", { message: "Expected a path starting with \"/\"" }))
    ).pipe(describe("The path itself and anything below it (/assets matches /assets/x, not /assetsx)"))
  }).pipe(describe("A host, a pathPrefix or both; the longest matching prefix wins")),
  pool: PoolName.pipe(describe("A pool name, or default"))
})

export const ConfigSchema = Schema.Struct({
  ...sections,
  strategy: strategyChoice(strategyNames).pipe(withDefault("round-robin"), describe("The default pool's strategy")),
  backends: Schema.Array(BackendConfig).check(Schema.isMinLength(1, { message: "Expected at least one backend" }))
    .pipe(describe("The default pool's backends; at least one")),
  healthCheck: Schema.optionalKey(HealthCheckConfig).pipe(
    describe("The default pool's active health checks; they run only when this section is present")
  ),
  pools: Schema.optionalKey(Schema.Record(PoolName, PoolConfig)).pipe(
    describe(
      "Named pools beside the default one (the top-level backends); names of lowercase letters, digits, '_' or '-'"
    )
  ),
  routes: Schema.optionalKey(Schema.Array(RouteConfig)).pipe(
    describe("Which requests go to which pool; unmatched requests go to the default pool")
  ),
  outlierDetection: Schema.optionalKey(OutlierDetectionConfig).pipe(
    describe(
      "Outlier ejection that learns (Envoy): open periods grow with each ejection; the breaker's doubling when absent"
    )
  ),
  slowStart: Schema.optionalKey(SlowStartConfig).pipe(
    describe("A backend back in rotation ramps its weight up (Envoy, HAProxy); off when absent")
  ),
  cache: Schema.optionalKey(CacheConfig).pipe(
    describe("HTTP-aware LRU cache of GET/HEAD responses (X-Cache: HIT|MISS); off when absent")
  ),
  rateLimit: Schema.optionalKey(RateLimitConfig).pipe(
    describe("A token bucket per client address, 429 with Retry-After past it; no limit when absent")
  ),
  tracing: Schema.optionalKey(TracingConfig).pipe(
    describe("OpenTelemetry spans for every proxied request, exported over OTLP/HTTP; off when absent")
  ),
  journal: Schema.optionalKey(Schema.String.check(Schema.isNonEmpty({ message: "Expected a file path" }))).pipe(
    describe(
      "A file to append every lifecycle event to, one JSON object per line (switchyard replay); relative to the config file"
    )
  ),
  trustProxy: Schema.Boolean.pipe(
    withDefault(false),
    describe("Believe an incoming X-Forwarded-For/-Proto/-Host (only behind your own proxy)")
  ),
  discovery: Schema.optionalKey(DiscoveryConfig).pipe(
    describe("The DNS servers discovery: dns backends are resolved with; the system's when absent")
  ),
  workers: Schema.Union([
    Schema.Literal("auto"),
    PositiveInt.check(Schema.isLessThanOrEqualTo(256, { message: "Expected at most 256 workers" }))
  ]).pipe(withDefault(1), describe("Proxy worker processes: 1 (one process), N, or auto (one per available CPU)"))
})

/**
 * `ConfigSchema` accepting `names` as strategies: the built-in ones and an embedding program's
 * own (`StrategiesLive`). `switchyard check`, `serve` and `schema` use `ConfigSchema` itself.
 */
export const configSchemaFor = (names: ReadonlyArray<string>) => {
  const strategy = strategyChoice(names).pipe(withDefault("round-robin"))
  return ConfigSchema.mapFields((fields) => ({
    ...fields,
    strategy,
    pools: Schema.optionalKey(Schema.Record(PoolName, PoolConfig.mapFields((pool) => ({ ...pool, strategy }))))
  }))
}

/** The file as decoded: defaults applied, durations and sizes typed. */
export type DecodedConfig = typeof ConfigSchema.Type
