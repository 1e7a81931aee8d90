/**
 * nginx for the bench, when it is installed: the backends (each its own nginx with one worker,
 * answering the fixed body) and the reference reverse proxy. Every instance runs in the foreground
 * (`daemon off`) as a child of the bench, from its own generated config in its own temp dir, with
 * no access log.
 *
 * The reference proxy is set up to do what Switchyard does by default: one process, round robin,
 * HTTP/1.1 keep-alive to the backends, `X-Forwarded-*` and a request id added, `Host` passed on.
 * nginx recycles a keep-alive connection after 1,000 requests by default and Node never does, so
 * every instance here allows a million, and no target pays for reconnects the others do not.
 *
 * The HTTP/2 reference proxy (`startNginxH2Proxy`) is the same proxy behind a TLS listener that
 * offers h2 by ALPN; upstream it still speaks HTTP/1.1 with keep-alive, as Switchyard does to
 * `protocol: http1` backends.
 */
import { spawnSync } from "node:child_process"
import { chmodSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { Child } from "./children.ts"
import { findExecutable, freePort, makeTempDir, spawnChild, stopChild } from "./children.ts"
import { responseBody } from "./fixture.ts"
import { waitServing } from "./http.ts"

export const findNginx = (): string | undefined =>
  findExecutable("nginx", ["/usr/sbin", "/usr/local/sbin", "/usr/local/nginx/sbin"])

/** A port taken by someone else between `freePort` and nginx's bind is retried this often. */
const startAttempts = 3

const startTimeoutMs = 10_000

const keepaliveRequests = 1_000_000

/** An nginx quoted string; `$` cannot be escaped there, so a body with one is refused. */
const quoted = (text: string): string => {
  if (text.includes("$")) throw new Error("an nginx string cannot hold a literal '$'")
  return `"${text.replaceAll("\\", "\\\\").replaceAll("\"", "\\\"").replaceAll("\n", "\\n")}"`
}

/** What every instance shares; the temp paths keep nginx out of its system-wide directories. */
const header = (dir: string, http: string): string => `
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests ${keepaliveRequests};
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${http}
}
`

const backendConfig = (dir: string, port: number): string =>
  header(
    dir,
    `  server {
    listen 127.0.0.1:${port};
    location / {
      default_type text/plain;
      return 200 ${quoted(responseBody)};
    }
  }`
  )

/** The `listen` directive and what goes with it: a port, or a TLS one with h2 as well. */
type Listen = (port: number) => string

const plainListen: Listen = (port) => `listen 127.0.0.1:${port};`

/** PEM files of a TLS listener. */
export interface TlsFiles {
  readonly cert: string
  readonly key: string
}

/** nginx 1.25.1 made `http2` a directive of its own and deprecated `listen ... http2`. */
const hasHttp2Directive = (nginx: string): boolean => {
  const version = spawnSync(nginx, ["-v"], { encoding: "utf8" }).stderr.match(/nginx\/(\d+)\.(\d+)\.(\d+)/)
  const [major = 0, minor = 0, patch = 0] = (version?.slice(1) ?? []).map(Number)
  return major * 1_000_000 + minor * 1_000 + patch >= 1_025_001
}

const h2Listen = (nginx: string, tls: TlsFiles): Listen => {
  const http2 = hasHttp2Directive(nginx)
  return (port) =>
    `listen 127.0.0.1:${port} ssl${http2 ? "" : " http2"};${http2 ? "\n    http2 on;" : ""}
    ssl_certificate ${tls.cert};
    ssl_certificate_key ${tls.key};`
}

const proxyConfig = (upstreams: ReadonlyArray<number>, listen: Listen) => (dir: string, port: number): string =>
  header(
    dir,
    `  upstream backends {
${upstreams.map((upstream) => `    server 127.0.0.1:${upstream};`).join("\n")}
    keepalive 64;
    keepalive_requests ${keepaliveRequests};
  }
  server {
    ${listen(port)}
    location / {
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Request-Id $request_id;
      add_header X-Request-Id $request_id;
    }
  }`
  )

export interface Server {
  readonly url: string
  readonly port: number
  readonly child: Child
}

/** Starts nginx from `render(dir, port)` on a free port, retrying on another if the port was taken. */
const startNginx = async (
  nginx: string,
  name: string,
  render: (dir: string, port: number) => string,
  scheme: "http" | "https" = "http"
): Promise<Server> => {
  for (let attempt = 1;; attempt++) {
    const port = await freePort()
    const dir = makeTempDir(`switchyard-bench-${name}-`)
    // Run as root, nginx's workers become `nobody`, who must be able to reach the temp paths.
    chmodSync(dir, 0o755)
    const conf = join(dir, "nginx.conf")
    writeFileSync(conf, render(dir, port))
    const child = spawnChild(name, nginx, ["-p", dir, "-c", conf, "-e", join(dir, "error.log")])
    const url = `${scheme}://127.0.0.1:${port}/`
    try {
      await waitServing(url, child, startTimeoutMs)
      return { url, port, child }
    } catch (error) {
      await stopChild(child)
      if (attempt >= startAttempts) {
        const log = readFileSync(join(dir, "error.log"), { encoding: "utf8", flag: "a+" })
        throw new Error(`${String(error)}\nerror.log:\n${log}`, { cause: error })
      }
    }
  }
}

export const startNginxBackend = (nginx: string, name: string): Promise<Server> =>
  startNginx(nginx, name, backendConfig)

export const startNginxProxy = (nginx: string, upstreams: ReadonlyArray<number>): Promise<Server> =>
  startNginx(nginx, "nginx-proxy", proxyConfig(upstreams, plainListen))

/** The same proxy, its listener TLS with ALPN h2 and http/1.1. */
export const startNginxH2Proxy = (nginx: string, upstreams: ReadonlyArray<number>, tls: TlsFiles): Promise<Server> =>
  startNginx(nginx, "nginx-h2-proxy", proxyConfig(upstreams, h2Listen(nginx, tls)), "https")
