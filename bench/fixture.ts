/**
 * What every benchmark backend answers: one fixed body, the same bytes whether nginx or the Node
 * fallback serves it, so targets differ only in what sits between the load generator and it.
 */

/** 100 bytes of plain ASCII, free of characters nginx would read inside a quoted string. */
export const responseBody = "switchyard bench: a fixed body of exactly one hundred bytes".padEnd(99, ".") + "\n"

export const responseBytes = Buffer.byteLength(responseBody)
