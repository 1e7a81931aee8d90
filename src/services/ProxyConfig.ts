/**
 * The decoded, validated config the running proxy was started with. Every other service reads
 * its settings from here, so tests and embedding programs can provide a config value directly
 * (`ProxyConfigLive.fromValue`) instead of a file.
 */
import { Context } from "effect"
import type { Config } from "../domain/config/ConfigLoader.ts"

export class ProxyConfig extends Context.Service<ProxyConfig, Config>()("switchyard/services/ProxyConfig") {}
