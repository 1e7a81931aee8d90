/**
 * The oldest Node that Switchyard runs on, and the check `main.ts` makes before it loads anything
 * else. Effect 4's Node packages and undici 8 need 22.19 (package.json's `engines` says the same);
 * on an older Node the first sign would otherwise be a stack trace from inside undici.
 *
 * Gotcha: every Node that may start the bin loads this module and `main.ts`, so neither may use
 * anything an old Node lacks.
 */

export const minimumNode = { major: 22, minor: 19 } as const

/** The line to print when `version` (`process.versions.node`) is too old; `undefined` when it is not. */
export const nodeTooOld = (version: string): string | undefined => {
  const [major = 0, minor = 0] = version.split(".").map(Number)
  const recentEnough = major > minimumNode.major || (major === minimumNode.major && minor >= minimumNode.minor)
  return recentEnough
    ? undefined
    : `Switchyard needs Node >= ${minimumNode.major}.${minimumNode.minor}, this is ${version}`
}
