import { assert, describe, it } from "@effect/vitest"
import { Duration, Predicate, Result } from "effect"
import { readFileSync } from "node:fs"
import { isMap, isScalar, parseDocument } from "yaml"
import type { YAMLMap } from "yaml"
import { loadConfig, poolsOf } from "../../../src/domain/config/ConfigLoader.ts"
import type { Config } from "../../../src/domain/config/ConfigLoader.ts"
import { BackendConfig, ConfigSchema } from "../../../src/domain/config/ConfigSchema.ts"
import { formatProblem } from "../../../src/domain/Errors.ts"
import { strategyNames } from "../../../src/domain/selection/Strategies.ts"

/** How the schema lists the accepted strategies in a message. */
const strategies = strategyNames.map((name) => `"${name}"`).join(" | ")

const load = (text: string, env: Record<string, string> = {}, file = "config.yaml") => loadConfig({ file, text, env })

const ok = (text: string, env: Record<string, string> = {}): Config => {
  const result = load(text, env)
  if (Result.isFailure(result)) assert.fail(result.failure.message)
  return result.success
}

/** Every problem as the CLI prints it, one line each. */
const problems = (text: string, env: Record<string, string> = {}, file = "config.yaml"): Array<string> => {
  const result = load(text, env, file)
  if (Result.isSuccess(result)) return assert.fail("expected the config to be rejected")
  return result.failure.problems.map((problem) => formatProblem(file, problem))
}

describe("config loading", () => {
  it("fills every default around a minimal file", () => {
    const config = ok("backends:\n  - url: http://127.0.0.1:9001\n")
    assert.deepStrictEqual(config.backends, [{ url: "http://127.0.0.1:9001", name: "127.0.0.1:9001", weight: 1 }])
    assert.deepInclude(config.server, {
      host: "0.0.0.0",
      port: 8080,
      maxBodySize: 10 * 1024 * 1024,
      maxHeaderSize: 16 * 1024
    })
    assert.deepInclude(config.admin, { host: "127.0.0.1", port: 9090 })
    assert.strictEqual(config.strategy, "round-robin")
    assert.strictEqual(config.trustProxy, false)
    assert.deepStrictEqual(
      [
        config.timeouts.connect,
        config.timeouts.headers,
        config.timeouts.request,
        config.timeouts.idle,
        config.server.gracePeriod
      ]
        .map(Duration.toMillis),
      [2_000, 10_000, 30_000, 60_000, 30_000]
    )
    assert.deepStrictEqual(config.logging, { level: "info", format: "json", access: true })
  })

  it("decodes durations and sizes once, into typed values", () => {
    const config = ok(`
server: { maxBodySize: 512KiB, maxHeaderSize: 8192, gracePeriod: 1.5m }
timeouts: { connect: 250ms, headers: 5s, request: 1h, idle: 2m }
backends: [{ url: "http://a:1" }]
`)
    assert.strictEqual(config.server.maxBodySize, 512 * 1024)
    assert.strictEqual(config.server.maxHeaderSize, 8192)
    assert.strictEqual(Duration.toMillis(config.server.gracePeriod), 90_000)
    assert.deepStrictEqual(
      [config.timeouts.connect, config.timeouts.headers, config.timeouts.request, config.timeouts.idle].map(
        Duration.toMillis
      ),
      [250, 5_000, 3_600_000, 120_000]
    )
  })

  it("accepts JSON as well as YAML", () => {
    const config = ok(
      `{"strategy": "weighted-round-robin", "backends": [{"url": "https://b.internal/api", "weight": 3}]}`
    )
    assert.strictEqual(config.strategy, "weighted-round-robin")
    assert.deepStrictEqual(config.backends, [{ url: "https://b.internal/api", name: "b.internal", weight: 3 }])
    assert.deepStrictEqual(Duration.toMillis(config.metrics.historyInterval), 1_000)
  })

  it("reports every problem at once, each with file:line:col, field path and what was expected", () => {
    const text = [
      "server:",
      "  port: 70000",
      "  maxBodySize: 10 parsecs",
      "strategy: fastest",
      "backends:",
      "  - url: ftp://x",
      "  - url: http://127.0.0.1:9001",
      "    weight: 0",
      "  - name: no-url",
      "timeouts:",
      "  connect: 5 parsecs",
      "  idle: 0s",
      "trustProxy: yes",
      "extra: true",
      ""
    ].join("\n")
    assert.deepStrictEqual(problems(text), [
      "config.yaml:2:9: server.port: Expected a value between 0 and 65535, got 70000",
      `config.yaml:3:16: server.maxBodySize: Expected a size such as "512KiB", "10MiB", "1GB" or a number of bytes, got "10 parsecs"`,
      `config.yaml:4:11: strategy: Expected ${strategies}, got "fastest"`,
      `config.yaml:6:10: backends[0].url: Expected an http or https URL, got "ftp:"`,
      "config.yaml:8:13: backends[1].weight: Expected a value greater than or equal to 1, got 0",
      "config.yaml:9:5: backends[2].url: Missing required key",
      `config.yaml:11:12: timeouts.connect: Expected a duration such as "250ms", "5s", "1m" or "1h", got "5 parsecs"`,
      "config.yaml:12:9: timeouts.idle: Expected a duration greater than 0",
      `config.yaml:13:13: trustProxy: Expected boolean, got "yes"`,
      "config.yaml:14:1: extra: Unknown key; expected one of: server, admin, circuitBreaker, retry, timeouts, ewma, consistentHash, metrics, logging, strategy, backends, healthCheck, pools, routes, outlierDetection, slowStart, cache, rateLimit, tracing, journal, trustProxy, discovery, workers"
    ])
  })

  it("suggests the key that was probably meant", () => {
    assert.deepStrictEqual(problems("backends: [{ url: 'http://a:1', wieght: 2 }]\n", {}, "c.yaml"), [
      `c.yaml:1:33: backends[0].wieght: Unknown key; expected one of: url, name, weight, maxConnections, protocol, discovery (did you mean "weight"?)`
    ])
    assert.include(
      problems("server: { MaxBodySize: 1KiB }\nbackends: [{ url: 'http://a:1' }]\n")[0] ?? "",
      `did you mean "maxBodySize"?`
    )
  })

  it("points YAML syntax errors at their line", () => {
    const [first] = problems("backends:\n  - url: http://a:1\n   weight: [\n")
    assert.match(first ?? "", /^config\.yaml:3:\d+: YAML: /)
  })

  it("refuses an empty file and a top level that is not a mapping", () => {
    assert.deepStrictEqual(problems(""), ["config.yaml: the file is empty; expected at least a `backends:` list"])
    assert.deepStrictEqual(problems("- a\n- b\n"), [
      "config.yaml:1:1: Expected a mapping of keys (server, backends, ...) at the top level"
    ])
    assert.deepStrictEqual(problems("backends: []\n"), ["config.yaml:1:11: backends: Expected at least one backend"])
  })

  it("checks backend URLs and names", () => {
    assert.deepStrictEqual(
      problems([
        "backends:",
        "  - url: not a url",
        "  - url: http://a:1/?q=1",
        "  - url: http://user:pw@a:1",
        "  - url: http://a:1",
        "    name: 'bad name'",
        "  - url: http://b:1",
        "    name: twin",
        "  - url: http://c:1",
        "    name: twin",
        ""
      ].join("\n")),
      [
        `config.yaml:2:10: backends[0].url: Expected an absolute http(s) URL, got "not a url"`,
        "config.yaml:3:10: backends[1].url: Expected a URL without query or fragment",
        "config.yaml:4:10: backends[2].url: Expected a URL without credentials",
        "config.yaml:6:11: backends[3].name: Expected a name of letters, digits, '.', '_', ':' or '-'"
      ]
    )
    assert.deepStrictEqual(
      problems("backends:\n  - url: http://b:1\n    name: twin\n  - url: http://c:1\n    name: twin\n"),
      [`config.yaml:5:11: backends[1].name: Duplicate backend name "twin" (also backends[0])`]
    )
    assert.deepStrictEqual(problems("backends:\n  - url: http://b:1\n  - url: http://b:1/other\n"), [
      `config.yaml:3:10: backends[1].url: Duplicate backend name "b:1" (also backends[0]); give each backend a distinct \`name\``
    ])
  })

  it("takes ${NAME} from the environment, typed when it is the whole value", () => {
    // Inside a flow collection (`{ ... }`) a reference must be quoted: braces are YAML syntax there.
    const config = ok(
      "server:\n  port: ${PORT}\nadmin: { token: 'Bearer-${TOKEN}', port: '${ADMIN_PORT}' }\ntrustProxy: ${TRUST}\n" +
        "backends:\n  - url: http://${HOST}:9001/$${literal}\n",
      { PORT: "8181", ADMIN_PORT: "9191", TOKEN: "s3cret", TRUST: "true", HOST: "10.0.0.5" }
    )
    assert.strictEqual(config.server.port, 8181)
    assert.strictEqual(config.admin.port, 9191)
    assert.strictEqual(config.admin.token, "Bearer-s3cret")
    assert.strictEqual(config.trustProxy, true)
    assert.strictEqual(config.backends[0]?.url, "http://10.0.0.5:9001/${literal}")
  })

  it("names an unset variable, and still reports the file's other problems", () => {
    assert.deepStrictEqual(
      problems("admin:\n  token: ${ADMIN_TOKEN}\nstrategy: nope\nbackends: [{ url: 'http://a:1' }]\n"),
      [
        "config.yaml:2:10: admin.token: environment variable ADMIN_TOKEN is not set (referenced as ${ADMIN_TOKEN})",
        `config.yaml:3:11: strategy: Expected ${strategies}, got "nope"`
      ]
    )
  })

  it("lays LB_STRATEGY, LB_PORT and LB_ADMIN_PORT over the file", () => {
    const config = ok("server: { port: 1 }\nbackends: [{ url: 'http://a:1' }]\n", {
      LB_STRATEGY: "weighted-round-robin",
      LB_PORT: "8088",
      LB_ADMIN_PORT: "9099"
    })
    assert.strictEqual(config.strategy, "weighted-round-robin")
    assert.strictEqual(config.server.port, 8088)
    assert.strictEqual(config.admin.port, 9099)
  })

  it("validates the overrides like the file, naming the variable", () => {
    assert.deepStrictEqual(
      problems("backends: [{ url: 'http://a:1' }]\n", {
        LB_STRATEGY: "fastest",
        LB_PORT: "http",
        LB_ADMIN_PORT: "70000"
      }),
      [
        `LB_PORT (environment): server.port: Expected number, got "http"`,
        "LB_ADMIN_PORT (environment): admin.port: Expected a value between 0 and 65535, got 70000",
        `LB_STRATEGY (environment): strategy: Expected ${strategies}, got "fastest"`
      ]
    )
  })
})

describe("pools and routes", () => {
  it("settles pool backends with their pool, and checks routes against the pools", () => {
    const config = ok([
      "backends: [{ url: 'http://a:1' }]",
      "pools:",
      "  static:",
      "    strategy: least-connections",
      "    backends: [{ url: 'http://b:1' }]",
      "routes:",
      "  - { match: { pathPrefix: /assets }, pool: static }",
      ""
    ].join("\n"))
    assert.deepStrictEqual(config.pools?.["static"]?.backends, [{
      url: "http://b:1",
      name: "b:1",
      pool: "static",
      weight: 1
    }])
    assert.strictEqual(config.pools?.["static"]?.strategy, "least-connections")
    assert.deepStrictEqual(config.backends, [{ url: "http://a:1", name: "a:1", weight: 1 }])
  })

  it("settles each backend's protocol from its own key or its pool's, and checks it against the URL", () => {
    const config = ok([
      "backends: [{ url: 'http://a:1', protocol: h2c }, { url: 'http://b:1' }]",
      "pools:",
      "  grpc:",
      "    protocol: h2",
      "    backends: [{ url: 'https://c:1' }, { url: 'http://d:1', protocol: http1 }]",
      ""
    ].join("\n"))
    assert.deepStrictEqual(config.backends.map((backend) => backend.protocol), ["h2c", undefined])
    assert.deepStrictEqual(config.pools?.["grpc"]?.backends.map((backend) => backend.protocol), ["h2", undefined])
    assert.deepStrictEqual(
      problems([
        "backends: [{ url: 'https://a:1', protocol: h2c }]",
        "pools:",
        "  grpc:",
        "    protocol: h2",
        "    healthCheck: { grpc: true }",
        "    backends: [{ url: 'http://c:1' }, { url: 'http://d:1' }, { url: 'http://e:1', protocol: http1 }]",
        ""
      ].join("\n")),
      [
        "config.yaml:1:44: backends[0].protocol: h2c is HTTP/2 without TLS: expected http:// backend URLs (use h2 for https://)",
        "config.yaml:4:15: pools.grpc.protocol: h2 is HTTP/2 over TLS: expected https:// backend URLs (use h2c for http://)",
        "config.yaml:6:93: pools.grpc.backends[2].protocol: healthCheck.grpc probes over HTTP/2: expected protocol h2c or h2 for http://e:1"
      ]
    )
  })

  it("names every mistake: an unknown pool, a route matching nothing, a reserved name, a name used twice", () => {
    assert.deepStrictEqual(
      problems([
        "backends: [{ url: 'http://a:1' }]",
        "pools:",
        "  default: { backends: [{ url: 'http://c:1' }] }",
        "  static: { backends: [{ url: 'http://a:1' }] }",
        "routes:",
        "  - { match: { pathPrefix: /x }, pool: statik }",
        "  - { match: {}, pool: static }",
        ""
      ].join("\n")),
      [
        `config.yaml:3:12: pools.default: "default" is the top-level backends' pool; choose another name`,
        `config.yaml:4:31: pools.static.backends[0].url: Duplicate backend name "a:1" (also backends[0]); give each backend a distinct \`name\``,
        `config.yaml:6:40: routes[0].pool: Unknown pool "statik"; expected one of: default, static`,
        "config.yaml:7:14: routes[1].match: Expected a host, a pathPrefix or both"
      ]
    )
  })
})

describe("config.example.yaml", () => {
  const text = readFileSync(new URL("../../../config.example.yaml", import.meta.url), "utf8")

  it("is a valid config whose values are the defaults", () => {
    const example = ok(text, { ADMIN_TOKEN: "t" })
    const minimal = ok("backends:\n  - url: http://127.0.0.1:9001\n    name: api-1\nhealthCheck: {}\n")
    assert.deepStrictEqual(example, minimal)
  })

  it("documents every key of the schema", () => {
    const documented = new Set<string>()
    const walk = (node: YAMLMap, prefix: string) => {
      for (const pair of node.items) {
        if (!isScalar(pair.key)) continue
        const path = `${prefix}${String(pair.key.value)}`
        documented.add(path)
        if (isMap(pair.value)) walk(pair.value, `${path}.`)
      }
    }
    // Commented-out optional keys (lowercase, unlike the prose comments) count: uncomment them to
    // read the whole documented shape.
    const uncommented = text.replace(/^([ \t]*)# (\s*[a-z][A-Za-z]*: )/gm, "$1$2")
    const contents = parseDocument(uncommented).contents
    if (!isMap(contents)) return assert.fail("the example is not a mapping")
    walk(contents, "")
    const backends = parseDocument(uncommented).getIn(["backends", 0])
    if (isMap(backends)) walk(backends, "backends.")
    const expected: Array<string> = []
    const collect = (fields: object, prefix: string) => {
      for (const [key, field] of Object.entries(fields)) {
        expected.push(`${prefix}${key}`)
        // An optional section wraps its struct: look through the wrapper.
        const schema = Predicate.hasProperty(field, "schema") ? field.schema : field
        if (Predicate.hasProperty(schema, "fields") && Predicate.isObject(schema.fields)) {
          collect(schema.fields, `${prefix}${key}.`)
        }
      }
    }
    collect(ConfigSchema.fields, "")
    collect(BackendConfig.fields, "backends.")
    for (const key of expected) assert.isTrue(documented.has(key), `config.example.yaml does not document ${key}`)
  })
})

describe("DNS discovery in the config", () => {
  it("a discovery: dns backend is its pool's source of members, not a member; servers are IP addresses", () => {
    const config = ok([
      "discovery: { servers: ['127.0.0.1:5353', '::1', '[::1]:53'] }",
      "backends:",
      "  - url: http://api.internal:9000",
      "    discovery: dns",
      "  - url: http://10.0.0.9:9000",
      "pools:",
      "  edge:",
      "    backends: [{ url: 'https://edge.internal', name: edge, discovery: dns }]",
      ""
    ].join("\n"))
    assert.deepStrictEqual(config.discovery, { servers: ["127.0.0.1:5353", "::1", "[::1]:53"] })
    assert.deepStrictEqual(
      poolsOf(config).map((pool) => [pool.name, pool.backends.map((b) => b.name), pool.discovered]),
      [
        ["default", ["10.0.0.9:9000"], [{ url: "http://api.internal:9000", weight: 1, name: "api.internal:9000" }]],
        ["edge", [], [{ url: "https://edge.internal", name: "edge", weight: 1, pool: "edge" }]]
      ]
    )
  })

  it("refuses discovery for an address, and DNS servers that are not IP addresses", () => {
    assert.deepStrictEqual(
      problems([
        "discovery: { servers: [dns.internal, '10.0.0.1:70000', '[10.0.0.1]'] }",
        "backends:",
        "  - url: http://10.0.0.1:9000",
        "    discovery: dns",
        "  - url: http://[::1]:9000",
        "    discovery: dns",
        "  - url: http://a:1",
        "    discovery: consul",
        ""
      ].join("\n")),
      [
        `config.yaml:1:24: discovery.servers[0]: Expected a DNS server's IP address, with an optional port ("127.0.0.1:5353", "[::1]:53"), got "dns.internal"`,
        `config.yaml:1:38: discovery.servers[1]: Expected a DNS server's IP address, with an optional port ("127.0.0.1:5353", "[::1]:53"), got "10.0.0.1:70000"`,
        `config.yaml:1:56: discovery.servers[2]: Expected a DNS server's IP address, with an optional port ("127.0.0.1:5353", "[::1]:53"), got "[10.0.0.1]"`,
        `config.yaml:8:16: backends[2].discovery: Expected "dns", got "consul"`
      ]
    )
    assert.deepStrictEqual(
      problems(
        "backends:\n  - url: http://10.0.0.1:9000\n    discovery: dns\n  - url: http://[::1]:9000\n    discovery: dns\n"
      ),
      [
        "config.yaml:2:10: backends[0].url: discovery: dns resolves a host name; 10.0.0.1 is an address already",
        "config.yaml:4:10: backends[1].url: discovery: dns resolves a host name; [::1] is an address already"
      ]
    )
  })
})
