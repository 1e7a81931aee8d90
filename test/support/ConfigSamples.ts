/**
 * Config files as users write them, for the tests that hold the JSON Schema (`switchyard schema`)
 * and the loader (`switchyard check`) to the same verdicts: the example, the YAML blocks of the
 * docs, files the loader's own tests accept, and files it refuses for a reason the schema can see.
 */
import { readdirSync, readFileSync } from "node:fs"
import { parse } from "yaml"
import { ConfigSchema } from "../../src/domain/config/ConfigSchema.ts"

export interface ConfigSample {
  readonly name: string
  readonly text: string
}

const root = new URL("../../", import.meta.url)

export const exampleConfig: ConfigSample = {
  name: "config.example.yaml",
  text: readFileSync(new URL("config.example.yaml", root), "utf8")
}

const configKeys: ReadonlySet<string> = new Set(Object.keys(ConfigSchema.fields))

/**
 * Every fenced `yaml` block of README.md and docs/ made only of config keys (a scenario file is
 * not a config); a fragment without `backends` is given one, as the file it stands in needs.
 */
export const docsConfigs = (): ReadonlyArray<ConfigSample> => {
  const pages = [
    "README.md",
    ...readdirSync(new URL("docs/", root)).filter((file) => file.endsWith(".md")).map((file) => `docs/${file}`)
  ]
  return pages.flatMap((page) =>
    [...readFileSync(new URL(page, root), "utf8").matchAll(/^```yaml\n([\s\S]*?)^```/gm)].flatMap((match, index) => {
      const text = match[1] ?? ""
      const value: unknown = parse(text)
      if (typeof value !== "object" || value === null || Array.isArray(value)) return []
      const keys = Object.keys(value)
      if (!keys.every((key) => configKeys.has(key))) return []
      return [{
        name: `${page} block ${index + 1}`,
        text: keys.includes("backends") ? text : `${text}\nbackends: [{ url: "http://127.0.0.1:9001" }]\n`
      }]
    })
  )
}

/** Files the loader's tests accept, `${NAME}` references included. */
export const validConfigs: ReadonlyArray<ConfigSample> = [
  { name: "minimal", text: "backends:\n  - url: http://127.0.0.1:9001\n" },
  {
    name: "durations and sizes",
    text: "server: { maxBodySize: 512KiB, maxHeaderSize: 8192, gracePeriod: 1.5m }\n" +
      "timeouts: { connect: 250ms, headers: 5s, request: 1h, idle: 2m }\nbackends: [{ url: \"http://a:1\" }]\n"
  },
  {
    name: "JSON",
    text: `{"strategy": "weighted-round-robin", "backends": [{"url": "https://b.internal/api", "weight": 3}]}`
  },
  {
    name: "environment references",
    text: "server:\n  port: ${PORT}\nadmin: { token: 'Bearer-${TOKEN}', port: '${ADMIN_PORT}' }\n" +
      "trustProxy: ${TRUST}\nbackends:\n  - url: http://${HOST}:9001/$${literal}\n"
  },
  { name: "empty sections", text: "server:\nlogging:\nbackends: [{ url: 'http://a:1' }]\n" },
  {
    name: "pools and routes",
    text: "backends: [{ url: 'http://a:1' }]\npools:\n  static:\n    strategy: least-connections\n" +
      "    backends: [{ url: 'http://b:1' }]\nroutes:\n  - { match: { pathPrefix: /assets }, pool: static }\n"
  },
  {
    name: "protocols",
    text: "backends: [{ url: 'http://a:1', protocol: h2c }, { url: 'http://b:1' }]\npools:\n  grpc:\n" +
      "    protocol: h2\n    backends: [{ url: 'https://c:1' }, { url: 'http://d:1', protocol: http1 }]\n"
  },
  {
    name: "DNS discovery",
    text: "discovery: { servers: ['127.0.0.1:5353', '::1', '[::1]:53'] }\nbackends:\n" +
      "  - url: http://api.internal:9000\n    discovery: dns\n  - url: http://10.0.0.9:9000\n"
  },
  {
    name: "everything optional",
    text: [
      "backends: [{ url: 'http://a:1', name: api-1, weight: 2, maxConnections: 10 }]",
      "healthCheck: { path: /ready, interval: 1s, timeout: 500ms, grpc: false }",
      "outlierDetection: { baseEjectionTime: 10s, maxEjectionTime: 1m, maxEjectionPercent: 30 }",
      "slowStart: { window: 20s, minWeightPercent: 5, aggression: 1.5 }",
      "cache: { maxEntries: 10, maxBytes: 1048576, ttl: 1m }",
      "rateLimit: { requestsPerSecond: 0.5, burst: 2, store: { redis: 'redis://127.0.0.1:6379/0', onError: deny } }",
      "tracing: { otlpEndpoint: 'http://127.0.0.1:4318/v1/traces' }",
      "retry: { budget: { percent: 10 } }",
      "consistentHash: { key: 'header:X-User', balanceFactor: 150 }",
      "journal: ./events.jsonl",
      "workers: auto",
      ""
    ].join("\n")
  }
]

const withBackend = (text: string) => `${text}\nbackends: [{ url: "http://a:1" }]\n`

/** Files the loader refuses, each for one reason the JSON Schema can express too. */
export const invalidConfigs: ReadonlyArray<ConfigSample> = [
  { name: "a port out of range", text: withBackend("server: { port: 70000 }") },
  { name: "a size in unknown units", text: withBackend("server: { maxBodySize: 10 parsecs }") },
  { name: "a duration in unknown units", text: withBackend("timeouts: { connect: 5 parsecs }") },
  { name: "an unknown strategy", text: withBackend("strategy: fastest") },
  { name: "a backend URL that is not http(s)", text: "backends: [{ url: 'ftp://x' }]\n" },
  { name: "a weight of 0", text: "backends: [{ url: 'http://a:1', weight: 0 }]\n" },
  { name: "a backend without url", text: "backends: [{ name: no-url }]\n" },
  { name: "a backend name with a space", text: "backends: [{ url: 'http://a:1', name: 'bad name' }]\n" },
  { name: "no backends", text: "backends: []\n" },
  { name: "no backends key", text: "strategy: random\n" },
  { name: "yes for a boolean", text: withBackend("trustProxy: yes") },
  { name: "an unknown top-level key", text: withBackend("extra: true") },
  { name: "a misspelt key", text: "backends: [{ url: 'http://a:1', wieght: 2 }]\n" },
  { name: "an unknown discovery", text: "backends: [{ url: 'http://a:1', discovery: consul }]\n" },
  { name: "a pool name in capitals", text: withBackend("pools: { Static: { backends: [{ url: 'http://b:1' }] } }") },
  { name: "too many attempts", text: withBackend("retry: { attempts: 11 }") },
  { name: "an unknown hash key", text: withBackend("consistentHash: { key: session }") },
  {
    name: "a non-Redis store",
    text: withBackend("rateLimit: { requestsPerSecond: 1, burst: 1, store: { redis: 'http://r:6379' } }")
  },
  { name: "an unknown log level", text: withBackend("logging: { level: loud }") }
]
