/** `workers: auto | N` as a number of processes: `auto` is one per CPU the process may use. */
export const workerCount = (setting: "auto" | number, availableCpus: number): number =>
  setting === "auto" ? Math.max(1, availableCpus) : setting
