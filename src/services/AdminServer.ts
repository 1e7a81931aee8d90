/** The admin listener, once bound (see `ProxyServer` for why the address matters). */
import { Context } from "effect"
import type { ListenAddress } from "./ProxyServer.ts"

export class AdminServer
  extends Context.Service<AdminServer, { readonly address: ListenAddress }>()("switchyard/services/AdminServer")
{}
