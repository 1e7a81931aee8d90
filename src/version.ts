/**
 * The package version, read from `package.json` at the package root (`PackageRoot.ts`), so
 * `--version`, `/status` and the docs never disagree.
 */
import { readFileSync } from "node:fs"
import { packagePath } from "./PackageRoot.ts"

const manifest: unknown = JSON.parse(readFileSync(packagePath("package.json"), "utf8"))

export const version: string = typeof manifest === "object" && manifest !== null && "version" in manifest &&
    typeof manifest.version === "string"
  ? manifest.version
  : "0.0.0"
