/**
 * The package version, read from `package.json` (one level above both `src/` and `dist/`), so
 * `--version`, `/status` and the docs never disagree.
 */
import { createRequire } from "node:module"

const manifest: unknown = createRequire(import.meta.url)("../package.json")

export const version: string = typeof manifest === "object" && manifest !== null && "version" in manifest &&
    typeof manifest.version === "string"
  ? manifest.version
  : "0.0.0"
