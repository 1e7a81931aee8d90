/**
 * The Grafana dashboard and the Prometheus alerts of `deploy/` against the proxy they watch: every
 * metric they name is in a live scrape of `switchyard serve` (with workers, so that every series
 * exists), the rules pass `promtool check rules` and their unit tests, and the dashboard's queries
 * are PromQL that promtool parses.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parse, stringify } from "yaml"
import { startBackend } from "../support/Backends.ts"
import { listeningPort, startCli, writeConfig } from "../support/Cli.ts"
import { send } from "../support/Http.ts"

const deploy = new URL("../../deploy/", import.meta.url)
const alertsFile = new URL("prometheus/alerts.yaml", deploy).pathname
const dashboard: unknown = JSON.parse(readFileSync(new URL("grafana/switchyard.json", deploy), "utf8"))

/** Every `expr` in a JSON or YAML value: dashboard targets, alerting rules. */
const expressions = (node: unknown): Array<string> => {
  if (Array.isArray(node)) return node.flatMap(expressions)
  if (typeof node !== "object" || node === null) return []
  return Object.entries(node).flatMap(([key, value]) =>
    key === "expr" && typeof value === "string" ? [value] : expressions(value)
  )
}

const dashboardExpressions = expressions(dashboard)
const alertExpressions = expressions(parse(readFileSync(alertsFile, "utf8")))

/** The metric names a PromQL expression reads: Switchyard's own and the process ones it exports. */
const metricNames = (expr: string): Array<string> => expr.match(/\b(?:lb|process|nodejs)_[a-z0-9_]+\b/g) ?? []

/** Grafana's variables as a query sees them once Grafana has filled them in. */
const asPromql = (expr: string) =>
  expr.replaceAll("$__rate_interval", "5m").replaceAll("$instance", ".*").replaceAll("$backend", ".*")

const promtool = (...args: ReadonlyArray<string>) => {
  const run = spawnSync("promtool", args, { encoding: "utf8", cwd: new URL("prometheus/", deploy).pathname })
  assert.isUndefined(run.error, "promtool is missing: apt-get install prometheus")
  return { code: run.status, output: `${run.stdout}${run.stderr}` }
}

describe("deploy/: the Grafana dashboard and the Prometheus alerts", () => {
  it("the dashboard asks a Prometheus chosen by its datasource variable", () => {
    const text = JSON.stringify(dashboard)
    assert.include(text, `{"name":"datasource","label":"Prometheus","type":"datasource","query":"prometheus"`)
    // Every panel, query and variable reads the Prometheus the variable names, none a fixed one.
    const references = text.split(`"datasource":{`).length - 1
    const variable = text.split(`"datasource":{"type":"prometheus","uid":"\${datasource}"}`).length - 1
    assert.isAtLeast(references, dashboardExpressions.length)
    assert.strictEqual(variable, references)
    assert.isAtLeast(dashboardExpressions.length, 20)
  })

  it("promtool check rules passes, and the rules' unit tests pass", () => {
    const check = promtool("check", "rules", alertsFile)
    assert.strictEqual(check.code, 0, check.output)
    const test = promtool("test", "rules", "alerts.test.yaml")
    assert.strictEqual(test.code, 0, test.output)
  })

  it("every query of the dashboard is PromQL promtool parses", () => {
    const file = join(mkdtempSync(join(tmpdir(), "switchyard-dashboard-")), "queries.yaml")
    const rules = dashboardExpressions.map((expr, index) => ({
      record: `dashboard:query_${index}`,
      expr: asPromql(expr)
    }))
    writeFileSync(file, stringify({ groups: [{ name: "dashboard", rules }] }))
    const check = promtool("check", "rules", file)
    assert.strictEqual(check.code, 0, check.output)
  })

  it.live("every metric the dashboard and the alerts name is in a live scrape", () =>
    Effect.scoped(Effect.gen(function*() {
      const backend = yield* startBackend("api-1")
      const cli = yield* startCli([
        "serve",
        "--config",
        writeConfig(`server: { host: 127.0.0.1, port: 0 }
admin: { host: 127.0.0.1, port: 0 }
logging: { access: false }
workers: 2
rateLimit: { requestsPerSecond: 100, burst: 100 }
backends:
  - { name: api-1, url: "${backend.url}" }
`)
      ])
      yield* cli.waitFor(/proxy listening on \S+ \(2 workers\)/)
      const proxy = `http://127.0.0.1:${yield* listeningPort(cli)}`
      const admin = `http://127.0.0.1:${yield* listeningPort(cli, "admin")}`
      for (let i = 0; i < 4; i++) assert.strictEqual((yield* send(proxy, { path: `/r${i}` })).status, 200)
      const scrape = (yield* send(admin, { path: "/metrics" })).text
      const exported = new Set(scrape.split("\n").flatMap((line) => /^([a-z_][a-z0-9_]*)[{ ]/.exec(line)?.[1] ?? []))
      const used = [...new Set([...dashboardExpressions, ...alertExpressions].flatMap(metricNames))].sort()
      assert.includeMembers(used, [
        "lb_requests_total",
        "lb_request_duration_seconds_bucket",
        "lb_backend_up",
        "lb_circuit_breaker_state",
        "lb_retries_total",
        "lb_rate_limited_requests_total",
        "lb_event_loop_delay_seconds_bucket",
        "lb_worker_restarts_total"
      ])
      assert.deepStrictEqual(used.filter((name) => !exported.has(name)), [])
    })))
})
