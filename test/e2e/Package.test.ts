/**
 * What `npm pack` puts in the package, read from `npm pack --dry-run --json` over the built
 * `dist/`: the bin's bundle and every chunk it loads (and nothing an earlier build left), the
 * library's JavaScript and types, the files the proxy reads at run time, and the licence; no
 * sources, tests or benches, and no source map that points at a file the package does not hold.
 */
import { assert, describe, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { readFileSync, statSync } from "node:fs"
import { dirname, join, normalize } from "node:path"

const root = new URL("../../", import.meta.url).pathname

/** `--ignore-scripts`: without it npm would clean and rebuild `dist/` (prepack, prepare) under running tests. */
const packed: ReadonlyArray<string> = (() => {
  const [report] = JSON.parse(
    execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root, encoding: "utf8" })
  ) as Array<{ files: Array<{ path: string }> }>
  return (report?.files ?? []).map((file) => file.path)
})()
const shipped = new Set(packed)

/** The bundle's files that `from` loads, and those they load: relative imports, static or dynamic. */
const reachable = (from: ReadonlyArray<string>): Set<string> => {
  const seen = new Set<string>()
  const pending = [...from]
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue
    seen.add(file)
    const code = readFileSync(join(root, file), "utf8")
    for (const [, specifier] of code.matchAll(/(?:from|import)\s*\(?\s*["'`](\.\.?\/[^"'`]+\.js)["'`]/g)) {
      if (specifier !== undefined) pending.push(normalize(join(dirname(file), specifier)))
    }
  }
  return seen
}

describe("the npm package", () => {
  it("holds the bin, the library, what they read at run time, the licence and the changelog", () => {
    for (
      const file of [
        "package.json",
        "README.md",
        "LICENSE",
        "CHANGELOG.md",
        "dist/bundle/switchyard.js",
        "dist/bundle/worker.js",
        "dist/index.js",
        "dist/index.d.ts",
        "dist/worker.js",
        "assets/dashboard.html",
        "config.example.yaml",
        "docs/configuration.md"
      ]
    ) assert.isTrue(shipped.has(file), file)
  })

  it("holds no sources, tests, benches, scripts or examples", () => {
    const stray = packed.filter((file) => /^(src|test|bench|scripts|examples|\.ci|\.tools)\//.test(file))
    assert.deepStrictEqual(stray, [])
  })

  it("the bundle is exactly the files the bin and the worker load", () => {
    const bundle = packed.filter((file) => file.startsWith("dist/bundle/") && file.endsWith(".js")).sort()
    assert.deepStrictEqual(bundle, [...reachable(["dist/bundle/switchyard.js", "dist/bundle/worker.js"])].sort())
  })

  it("every source map carries the sources it maps, as none of them is shipped", () => {
    const maps = packed.filter((file) => file.endsWith(".map"))
    assert.isAbove(maps.length, 0)
    for (const file of maps) {
      const map: { sources: Array<string>; sourcesContent?: Array<string | null> } = JSON.parse(
        readFileSync(join(root, file), "utf8")
      )
      const missing = map.sources.filter((source, index) =>
        !shipped.has(normalize(join(dirname(file), source))) && typeof map.sourcesContent?.[index] !== "string"
      )
      assert.deepStrictEqual(missing, [], file)
    }
  })

  it("ships no map beside the library's files: only the minified bundle needs one", () => {
    assert.deepStrictEqual(packed.filter((file) => file.endsWith(".map") && !file.startsWith("dist/bundle/")), [])
  })

  it("the bin is executable in the checkout too, as `npx switchyard` there runs it as it is", () => {
    assert.strictEqual(statSync(join(root, "dist/bundle/switchyard.js")).mode & 0o111, 0o111)
  })
})
