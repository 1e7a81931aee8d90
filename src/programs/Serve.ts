/** `switchyard serve`: run the proxy from a config file until SIGTERM/SIGINT. */
import { Layer } from "effect"
import { AppLive } from "../layers/AppLive.ts"
import { ProxyConfigLive } from "../layers/ProxyConfigLive.ts"

export const serve = (file: string) => Layer.launch(AppLive(ProxyConfigLive.fromFile(file)))
