/**
 * A DNS server for tests: UDP on a loopback port, answering A and AAAA questions from a zone the
 * test changes as it goes (records with TTLs, or a failure: SERVFAIL or NXDOMAIN). Real packets in RFC 1035's wire format, so the proxy's resolver is the one in production.
 */
import { Effect } from "effect"
import type { Scope } from "effect"
import { createSocket } from "node:dgram"
import { isIPv4 } from "node:net"

export interface DnsRecords {
  readonly a?: ReadonlyArray<string>
  readonly aaaa?: ReadonlyArray<string>
  /** Seconds, for every record. */
  readonly ttl: number
}

/** What the server says about a name: its records, or an error code. */
export type DnsEntry = DnsRecords | { readonly fail: "SERVFAIL" | "NXDOMAIN" }

export interface TestDnsServer {
  /** `127.0.0.1:port`, as `discovery.servers` takes it. */
  readonly address: string
  /** What `name` answers from now on; a name never set is NXDOMAIN. */
  readonly set: (name: string, entry: DnsEntry) => void
  /** Questions received for `name`, of either type. */
  readonly queries: (name: string) => number
}

const typeA = 1
const typeAAAA = 28
const rcodes = { SERVFAIL: 2, NXDOMAIN: 3 } as const

/** The 16 bytes of an IPv6 address, `::` expanded. */
const ipv6Bytes = (address: string): Buffer => {
  const [head = "", tail] = address.split("::")
  const groups = (part: string) => part === "" ? [] : part.split(":")
  const missing = 8 - groups(head).length - (tail === undefined ? 0 : groups(tail).length)
  const all = [
    ...groups(head),
    ...Array.from({ length: tail === undefined ? 0 : missing }, () => "0"),
    ...groups(tail ?? "")
  ]
  const bytes = Buffer.alloc(16)
  all.forEach((group, index) => bytes.writeUInt16BE(parseInt(group, 16), index * 2))
  return bytes
}

/** The question's name (lowercased), type and where the question ends. */
const readQuestion = (query: Buffer): { readonly name: string; readonly type: number; readonly end: number } => {
  const labels: Array<string> = []
  let offset = 12
  for (let length = query[offset] ?? 0; length > 0; length = query[offset] ?? 0) {
    labels.push(query.toString("latin1", offset + 1, offset + 1 + length))
    offset += length + 1
  }
  const type = query.readUInt16BE(offset + 1)
  return { name: labels.join(".").toLowerCase(), type, end: offset + 5 }
}

const answer = (query: Buffer, entry: DnsEntry | undefined): Buffer => {
  const { end, type } = readQuestion(query)
  const failure = entry === undefined ? "NXDOMAIN" : "fail" in entry ? entry.fail : undefined
  const addresses = entry === undefined || "fail" in entry ? [] : (type === typeA ? entry.a : entry.aaaa) ?? []
  const header = Buffer.alloc(12)
  query.copy(header, 0, 0, 2)
  // QR, the query's RD, RA; and the response code.
  const rd = (query[2] ?? 0) & 0x01
  header.writeUInt16BE(0x8080 | (rd << 8) | (failure === undefined ? 0 : rcodes[failure]), 2)
  header.writeUInt16BE(1, 4)
  header.writeUInt16BE(addresses.length, 6)
  const records = addresses.map((address) => {
    const data = type === typeA && isIPv4(address) ? Buffer.from(address.split(".").map(Number)) : ipv6Bytes(address)
    const record = Buffer.alloc(12)
    // The name as a pointer to the question's.
    record.writeUInt16BE(0xc00c, 0)
    record.writeUInt16BE(type, 2)
    record.writeUInt16BE(1, 4)
    record.writeUInt32BE(entry !== undefined && "ttl" in entry ? entry.ttl : 0, 6)
    record.writeUInt16BE(data.length, 10)
    return Buffer.concat([record, data])
  })
  return Buffer.concat([header, query.subarray(12, end), ...records])
}

export const startDnsServer: Effect.Effect<TestDnsServer, never, Scope.Scope> = Effect.acquireRelease(
  Effect.callback<{ readonly server: TestDnsServer; readonly close: () => void }>((resume) => {
    const zone = new Map<string, DnsEntry>()
    const asked = new Map<string, number>()
    const socket = createSocket("udp4")
    socket.on("message", (query, peer) => {
      const { name, type } = readQuestion(query)
      asked.set(name, (asked.get(name) ?? 0) + 1)
      if (type === typeA || type === typeAAAA) socket.send(answer(query, zone.get(name)), peer.port, peer.address)
    })
    socket.bind(0, "127.0.0.1", () => {
      resume(Effect.succeed({
        server: {
          address: `127.0.0.1:${socket.address().port}`,
          set: (name, entry) => zone.set(name.toLowerCase(), entry),
          queries: (name) => asked.get(name.toLowerCase()) ?? 0
        },
        close: () => socket.close()
      }))
    })
  }),
  ({ close }) => Effect.sync(close)
).pipe(Effect.map(({ server }) => server))
