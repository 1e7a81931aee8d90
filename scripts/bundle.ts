/**
 * `npm run build`'s second step: the executable as a bundle (`dist/bundle/switchyard.js`, and
 * `worker.js` beside it for `workers`), what the `switchyard` bin runs. A bundle loads only the
 * parts of its dependencies it uses: importing `effect` from `dist/` loads all of its modules
 * (about 30 MiB of a started proxy's RSS), the bundle only what Switchyard calls. Code loaded on
 * demand (each command's program, the OpenTelemetry SDK) stays in chunks of its own, loaded as
 * before. `dist/` from `tsc` stays the library (`import ... from "switchyard"`).
 *
 * Each source map carries the sources it maps (`sourcesContent`), as the package ships no `src/`.
 * What an earlier build left in `dist/bundle` and this one did not write is removed: chunk names
 * carry a hash, so old chunks would pile up and be packed. Removed after writing, not before, so
 * a proxy started from `dist/bundle` meanwhile never finds it missing. The entry is made
 * executable, as npm makes an installed bin, so that `npx switchyard` works in a checkout too.
 */
import { chmodSync, readdirSync, rmSync } from "node:fs"
import { join, relative } from "node:path"
import { rolldown } from "rolldown"

const root = new URL("../", import.meta.url).pathname

const bundle = await rolldown({
  cwd: root,
  input: { switchyard: "src/main.ts", worker: "src/worker.ts" },
  platform: "node",
  logLevel: "warn"
})
const { output } = await bundle.write({
  dir: "dist/bundle",
  format: "esm",
  minify: true,
  sourcemap: true,
  entryFileNames: "[name].js",
  chunkFileNames: "chunks/[name]-[hash].js"
})
await bundle.close()

const outDir = join(root, "dist/bundle")
const written = new Set(
  output.flatMap((file) =>
    file.type === "chunk" && file.sourcemapFileName !== null ? [file.fileName, file.sourcemapFileName] : [file.fileName]
  )
)
for (const entry of readdirSync(outDir, { recursive: true, withFileTypes: true })) {
  const path = join(entry.parentPath, entry.name)
  if (entry.isFile() && !written.has(relative(outDir, path))) rmSync(path)
}
chmodSync(join(outDir, "switchyard.js"), 0o755)
