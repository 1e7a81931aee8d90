/**
 * `switchyard schema`: print the config file's JSON Schema (draft 2020-12) for editors and CI.
 * `switchyard.schema.json` at the package root is this output, committed (a test keeps it so).
 */
import { Console } from "effect"
import { configJsonSchema } from "../domain/config/ConfigJsonSchema.ts"

export const schema = Console.log(JSON.stringify(configJsonSchema(), null, 2))
