/**
 * Where the package's own files are (`package.json`, `assets/`): the nearest directory above this
 * module holding Switchyard's `package.json`. Found, not assumed, because this module runs from
 * `src/`, from `dist/` and from the bundle in `dist/bundle/`, each at a different depth.
 */
import { existsSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const isOurs = (directory: string): boolean => {
  const manifest = join(directory, "package.json")
  if (!existsSync(manifest)) return false
  try {
    const parsed: unknown = JSON.parse(readFileSync(manifest, "utf8"))
    return typeof parsed === "object" && parsed !== null && "name" in parsed && parsed.name === "switchyard"
  } catch {
    return false
  }
}

const findRoot = (from: string): string => {
  let directory = from
  while (!isOurs(directory)) {
    const parent = dirname(directory)
    // Not inside the package (a copied file): the module's own directory is the best guess left.
    if (parent === directory) return from
    directory = parent
  }
  return directory
}

export const packageRoot: string = findRoot(dirname(fileURLToPath(import.meta.url)))

/** A path inside the package, e.g. `packagePath("assets", "dashboard.html")`. */
export const packagePath = (...parts: ReadonlyArray<string>): string => join(packageRoot, ...parts)
