/**
 * `Authorization: Bearer <admin.token>` for the admin API. The comparison takes the same time
 * whatever the guess: both sides are hashed to equal-length digests, then compared with
 * `timingSafeEqual`, so neither the token's content nor its length leaks through timing.
 */
import { createHash, timingSafeEqual } from "node:crypto"

const digest = (text: string): Buffer => createHash("sha256").update(text).digest()

/** A check for the configured token; with no token configured, everyone is allowed. */
export const makeTokenCheck = (token: string | undefined): (authorization: string | undefined) => boolean => {
  if (token === undefined) return () => true
  const expected = digest(token)
  return (authorization) => {
    const match = /^Bearer\s+(.+)$/i.exec(authorization ?? "")
    return timingSafeEqual(digest(match?.[1] ?? ""), expected) && match !== null
  }
}
