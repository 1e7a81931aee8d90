/**
 * Where a backend's connections go: the socket's host and port, and the name a TLS connection
 * asks for. A member found by DNS discovery has an address in its URL, but its certificate is
 * for the name it was resolved from: that name is its SNI and what the certificate is checked
 * against, as when the backend is configured by name.
 */
import { isIP } from "node:net"
import type { BackendSpec } from "../../domain/Backend.ts"

export interface BackendAddress {
  /** Bare: an IPv6 address without the brackets `URL` writes. */
  readonly host: string
  readonly port: number
  readonly secure: boolean
  /** Absent for an address with no name behind it: SNI carries no addresses (RFC 6066, 3). */
  readonly serverName: string | undefined
}

export const backendAddress = (spec: BackendSpec): BackendAddress => {
  const url = new URL(spec.url)
  const secure = url.protocol === "https:"
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname
  return {
    host,
    port: url.port === "" ? (secure ? 443 : 80) : Number(url.port),
    secure,
    serverName: spec.resolvedFrom ?? (isIP(host) === 0 ? host : undefined)
  }
}

/** `tls.connect`'s options naming the peer. */
export const tlsPeer = (address: BackendAddress): { host: string; port: number; servername?: string } =>
  address.serverName === undefined
    ? { host: address.host, port: address.port }
    : { host: address.host, port: address.port, servername: address.serverName }
