/**
 * A request body as both upstream clients (`Http1Connection`, `Http2Exchange`) read it: the four
 * listeners a client holds once (so that a request allocates none), put on and taken off the body
 * together, and what a body that did not end means for the request.
 */
import type { Readable } from "node:stream"
import { BodyTooLarge, ClientGone } from "../Failures.ts"

export interface BodyListeners {
  readonly onBodyData: (chunk: Buffer) => void
  readonly onBodyEnd: () => void
  readonly onBodyError: (error: Error) => void
  readonly onBodyClose: () => void
}

export const listenToBody = (body: Readable, listeners: BodyListeners): void => {
  body.on("data", listeners.onBodyData)
  body.once("end", listeners.onBodyEnd)
  body.once("error", listeners.onBodyError)
  body.once("close", listeners.onBodyClose)
}

export const stopListening = (body: Readable, listeners: BodyListeners): void => {
  body.off("data", listeners.onBodyData)
  body.off("end", listeners.onBodyEnd)
  body.off("error", listeners.onBodyError)
  body.off("close", listeners.onBodyClose)
}

/** The body failed: outgrown (`BodyTooLarge`, kept as it is), or its client went away in the middle of it. */
export const bodyFailure = (error: Error | undefined): Error =>
  error instanceof BodyTooLarge ? error : new ClientGone("the client went away during its request body")
