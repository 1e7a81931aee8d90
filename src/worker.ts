/** The entry of a worker process, forked by `switchyard serve` when `workers` is above 1. */
import { runWorker } from "./programs/Worker.ts"

await runWorker()
