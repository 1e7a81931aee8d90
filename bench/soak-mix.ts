/**
 * What `npm run soak` sends, shared by its load generator (`soak-load.ts`) and its backend
 * (`soak-backend.ts`): the kinds of request of a steady day's traffic and their shares.
 *
 * Out of every 20 requests: 13 small GETs, 3 POSTs of 64 KiB, 1 download of 1 MiB, 1 download the
 * client abandons after its first chunk (the connection closed mid-response), 2 long polls the
 * backend answers after 2 s. At 500 req/s that is 25 MiB/s down, 5 MiB/s up, about 100 polls
 * waiting at any moment, and 25 connections a second cut short.
 */

export type Kind = "small" | "upload" | "download" | "abort" | "poll"

/** The order requests are sent in, repeated: shares exact over every 20, kinds interleaved. */
export const cycle: ReadonlyArray<Kind> = [
  "small",
  "upload",
  "small",
  "poll",
  "small",
  "small",
  "download",
  "small",
  "upload",
  "small",
  "small",
  "abort",
  "small",
  "poll",
  "small",
  "upload",
  "small",
  "small",
  "small",
  "small"
]

export const uploadBytes = 64 * 1024
export const downloadBytes = 1024 * 1024
export const pollMs = 2_000

export const pathOf: Record<Kind, string> = {
  small: "/",
  upload: "/upload",
  download: "/download",
  abort: "/download",
  poll: "/poll"
}
