/**
 * The request target and the `Host` it names, read as RFC 9110 §7.2 and RFC 9112 §3.2 define
 * them. A proxy that forwards a `Host` it has not checked lets a client put one string before the
 * backend and another before the router, the cache and the logs (`Host: a, b`, `Host: a evil`),
 * so an authority that is not a plain `host[:port]` is refused rather than passed on.
 *
 * - `Host` is `uri-host [ ":" port ]`: an IP literal in brackets, or a reg-name of unreserved,
 *   percent-encoded and sub-delim characters. The comma is a sub-delim, but a comma in `Host` is
 *   how two values look once joined, so it is refused (as nginx refuses it).
 * - The absolute form (`GET http://a.example/x`) names the authority itself; the `Host` header is
 *   then replaced by it (§3.2.2), so the backend and the router see the same host.
 * - Userinfo (`http://u:p@a/`) and a fragment (`/x#f`) have no place in a request target.
 */

/** reg-name characters without the comma (RFC 3986 §3.2.2), in runs or as `%XX`. */
const regName = /^(?:[A-Za-z0-9\-._~!$&'()*+;=]|%[0-9A-Fa-f]{2})+$/
/** An IPv6 address or an IPvFuture literal, inside the brackets. */
const ipLiteral = /^(?:[0-9A-Fa-f:.]+|[vV][0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+)$/
const port = /^\d{0,5}$/

/** Whether `value` is a valid `Host`: `host[:port]`, nothing else (no spaces, no list). */
export const isValidAuthority = (value: string): boolean => {
  if (value.startsWith("[")) {
    const close = value.indexOf("]")
    if (close === -1 || !ipLiteral.test(value.slice(1, close))) return false
    const rest = value.slice(close + 1)
    return rest === "" || (rest.startsWith(":") && port.test(rest.slice(1)))
  }
  const colon = value.indexOf(":")
  const host = colon === -1 ? value : value.slice(0, colon)
  return regName.test(host) && (colon === -1 || port.test(value.slice(colon + 1)))
}

/** A target the proxy can forward: its path and query, and the authority the absolute form names. */
export interface Target {
  /** Path and query as the client wrote them (the absolute form reduced to them). */
  readonly path: string
  /** The authority of an absolute-form target; `undefined` for the origin form. */
  readonly authority: string | undefined
}

export type TargetProblem =
  | "fragment"
  | "userinfo"
  | "authority"
  | "form"

const absolute = /^https?:\/\//i

/** Reads a request target; a string names what is wrong with it. */
export const parseTarget = (target: string): Target | TargetProblem => {
  if (target.includes("#")) return "fragment"
  if (target.startsWith("/")) return { path: target, authority: undefined }
  const scheme = absolute.exec(target)
  if (scheme === null) return "form"
  const rest = target.slice(scheme[0].length)
  const end = rest.search(/[/?]/)
  const authority = end === -1 ? rest : rest.slice(0, end)
  if (authority.includes("@")) return "userinfo"
  if (!isValidAuthority(authority)) return "authority"
  const pathAndQuery = end === -1 ? "" : rest.slice(end)
  return {
    path: pathAndQuery === "" ? "/" : pathAndQuery.startsWith("?") ? `/${pathAndQuery}` : pathAndQuery,
    authority
  }
}

export const targetProblemMessage = (problem: TargetProblem): string => {
  switch (problem) {
    case "fragment":
      return "the request target must not carry a fragment"
    case "userinfo":
      return "the request target must not carry userinfo"
    case "authority":
      return "the request target's authority is not a valid host[:port]"
    case "form":
      return "the request target must be a path or an absolute http(s) URL"
  }
}
