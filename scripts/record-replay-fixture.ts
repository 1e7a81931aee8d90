/**
 * `node scripts/record-replay-fixture.ts`: records the run that docs/simulate.md's "Replaying real
 * traffic" replays (`test/support/Recording.ts`: `serve` in round-robin over a fast, a slow and a
 * dying backend, 60 req/s for 9 s) into test/fixtures/replay/: the access log, the journal and the
 * config. Needs `npm run build` first (it runs the bundle). Re-recording changes the docs' numbers:
 * the docs test (test/e2e/SimulateReplay.test.ts) then says which.
 */
import { Effect } from "effect"
import { copyFileSync, mkdirSync } from "node:fs"
import { join } from "node:path"
import { record } from "../test/support/Recording.ts"

const target = new URL("../test/fixtures/replay/", import.meta.url).pathname
mkdirSync(target, { recursive: true })

const recording = await Effect.runPromise(Effect.scoped(record({ rate: 60, durationMs: 9_000 })))
copyFileSync(recording.traffic, join(target, "traffic.jsonl"))
copyFileSync(recording.journal, join(target, "journal.jsonl"))
copyFileSync(recording.config, join(target, "config.yaml"))
console.log(`recorded ${recording.sent} requests into ${target}`)
