/** `--variants`: config sections over the config that ran, checked as the config file's are. */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Result } from "effect"
import { loadConfig } from "../../../../src/domain/config/ConfigLoader.ts"
import { loadVariants } from "../../../../src/domain/sim/replay/Variants.ts"

const ran = loadConfig({
  file: "config.yaml",
  text: `strategy: round-robin
backends: [{ name: a, url: "http://127.0.0.1:9" }]
retry: { attempts: 2 }
`,
  env: {}
})

describe("replay variants", () => {
  it("each variant lays its sections over the config that ran, defaults filling what a section leaves out", () => {
    assert.isTrue(Result.isSuccess(ran))
    if (Result.isFailure(ran)) return
    const loaded = loadVariants({
      file: "variants.yaml",
      text: `variants:
  - name: p2c with ejection
    strategy: p2c-ewma
    outlierDetection: { baseEjectionTime: 5s }
  - name: three attempts
    retry: { attempts: 3 }
`,
      env: {}
    })
    assert.isTrue(Result.isSuccess(loaded), Result.isFailure(loaded) ? loaded.failure.message : "")
    if (Result.isFailure(loaded)) return
    const [ejection, attempts] = loaded.success.map((variant) => ({
      name: variant.name,
      config: variant.apply(ran.success)
    }))
    assert.strictEqual(ejection?.name, "p2c with ejection")
    assert.strictEqual(ejection?.config.strategy, "p2c-ewma")
    assert.strictEqual(Duration.toMillis(ejection?.config.outlierDetection?.baseEjectionTime ?? Duration.zero), 5_000)
    assert.strictEqual(ejection?.config.retry.attempts, 2)
    assert.strictEqual(attempts?.config.retry.attempts, 3)
    assert.strictEqual(attempts?.config.strategy, "round-robin")
    assert.deepStrictEqual(attempts?.config.backends, ran.success.backends)
  })

  it("a wrong section is a problem at its line, under its variant; an unknown key too", () => {
    const loaded = loadVariants({
      file: "variants.yaml",
      text: `variants:
  - name: too many
    retry: { attempts: 0 }
  - name: listener
    server: { port: 1 }
`,
      env: {}
    })
    assert.isTrue(Result.isFailure(loaded))
    if (Result.isSuccess(loaded)) return
    assert.deepStrictEqual(
      loaded.failure.problems.map((problem) => [problem.path, problem.line]),
      [["variants[0].retry.attempts", 3], ["variants[1].server", 5]]
    )
  })
})
