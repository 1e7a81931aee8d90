/**
 * The proxy listener, once bound. Its address is what tests and embedding programs need when the
 * config asked for port 0.
 */
import { Context } from "effect"

export interface ListenAddress {
  readonly host: string
  readonly port: number
}

export class ProxyServer
  extends Context.Service<ProxyServer, { readonly address: ListenAddress }>()("switchyard/services/ProxyServer")
{}
