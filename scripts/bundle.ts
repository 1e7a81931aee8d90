/**
 * `npm run build`'s second step: the executable as a bundle (`dist/bundle/switchyard.js`, and
 * `worker.js` beside it for `workers`), what the `switchyard` bin runs. A bundle loads only the
 * parts of its dependencies it uses: importing `effect` from `dist/` loads all of its modules
 * (about 30 MiB of a started proxy's RSS), the bundle only what Switchyard calls. Code loaded on
 * demand (each command's program, the OpenTelemetry SDK) stays in chunks of its own, loaded as
 * before. `dist/` from `tsc` stays the library (`import ... from "switchyard"`).
 */
import { rolldown } from "rolldown"

const root = new URL("../", import.meta.url).pathname

const bundle = await rolldown({
  cwd: root,
  input: { switchyard: "src/main.ts", worker: "src/worker.ts" },
  platform: "node",
  logLevel: "warn"
})
await bundle.write({
  dir: "dist/bundle",
  format: "esm",
  minify: true,
  sourcemap: true,
  entryFileNames: "[name].js",
  chunkFileNames: "chunks/[name]-[hash].js"
})
await bundle.close()
