/**
 * Which Node versions the bin refuses, in the words it refuses them, and that the check and
 * package.json's `engines` name the same version.
 */
import { assert, describe, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { minimumNode, nodeTooOld } from "../src/NodeVersion.ts"

const manifest: { engines: { node: string } } = JSON.parse(
  readFileSync(new URL("../package.json", import.meta.url), "utf8")
)

describe("node version", () => {
  it("an older Node gets one line naming both versions", () => {
    assert.strictEqual(nodeTooOld("20.20.2"), "Switchyard needs Node >= 22.19, this is 20.20.2")
    assert.strictEqual(nodeTooOld("22.18.1"), "Switchyard needs Node >= 22.19, this is 22.18.1")
    assert.strictEqual(nodeTooOld("18.0.0"), "Switchyard needs Node >= 22.19, this is 18.0.0")
  })

  it("22.19 and everything after it runs", () => {
    for (const version of ["22.19.0", "22.20.1", "23.0.0", "24.21.0", "30.1.0"]) {
      assert.isUndefined(nodeTooOld(version), version)
    }
  })

  it("the check asks for the version package.json's engines names", () => {
    assert.strictEqual(manifest.engines.node, `>=${minimumNode.major}.${minimumNode.minor}`)
  })
})
