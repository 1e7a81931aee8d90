/**
 * Access logs: one structured line per client request, written through Effect's `Logger`. The
 * data path only hands a record over; writing happens elsewhere, later, so a slow terminal or
 * log collector never holds a request up.
 */
import { Context } from "effect"
import type { RequestRecord } from "../domain/RequestRecord.ts"

export interface AccessLogShape {
  /** Queues the record for logging; never blocks (a full queue drops it and counts the drop). */
  readonly append: (record: RequestRecord) => void
}

export class AccessLog extends Context.Service<AccessLog, AccessLogShape>()("switchyard/services/AccessLog") {}
