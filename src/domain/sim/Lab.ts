/**
 * The strategy lab's proxy without sockets: a discrete-event loop over an agenda of arrivals,
 * answers, retries and backends going down. Each request is placed by the real routing (the
 * pool's strategy over the registry), each attempt is told to the registry as `RequestStarted`
 * and `RequestFinished` and judged by `evolve` (EWMA, in-flight, breaker), and a failed attempt
 * is retried when the real retry policy says so, after the delay its `Schedule` gives, on a
 * backend not tried yet: attempt for attempt what `http/ProxyExchange.ts` does, including its
 * one replay of a body-less request whose connection was reset.
 *
 * Only the backends (`BackendModel`) and time are simulated. The lab's time is its agenda's;
 * the program moves Effect's `TestClock` along with it for the timers (probes, breaker), which
 * is why `runUntil` stops where a timer is due, and right after anything that changed health or
 * a circuit (the breaker's timer must be armed before time goes on).
 */
import type { Excluded } from "../Availability.ts"
import type { BackendEvent, RequestOutcome } from "../BackendEvent.ts"
import type { BackendState } from "../BackendState.ts"
import type { FailedAttempt } from "../retry/RetryPolicy.ts"
import { honouredPauseMs } from "../retry/RetryAfter.ts"
import type { RetryBudget } from "../retry/RetryBudget.ts"
import type { RequestFacts } from "../selection/Strategy.ts"
import type { Answer, Condition, SimulatedBackend, Timeline } from "./BackendModel.ts"
import { answer, conditionAt, timelineOf } from "./BackendModel.ts"
import { makeEventQueue } from "./EventQueue.ts"
import type { SampleRecorder } from "./Samples.ts"
import { makeSampleRecorder } from "./Samples.ts"
import type { Arrival, TrafficSettings } from "./Traffic.ts"
import { clientAddress, makeArrivals } from "./Traffic.ts"

/** What the lab needs of the registry: the real one (`BackendRegistryLive`). */
export interface LabRegistry {
  readonly emit: (event: BackendEvent) => void
  readonly get: (name: string) => BackendState | undefined
  /** Moves when health, a circuit or membership changes. */
  readonly version: () => number
}

/** One request's backoff: the delay (ms) before its next try, or `undefined` to give up. */
export type Backoff = (now: number, failed: FailedAttempt) => number | undefined

/** Simulated time, in ms from the start; the lab moves it, the strategies read it. */
export interface SimTime {
  now: number
}

export interface LabEnv {
  readonly time: SimTime
  readonly registry: LabRegistry
  /** The pool's strategy: the real routing's `select`. */
  readonly select: (facts: RequestFacts, excluded: Excluded) => BackendState | undefined
  /** A fresh backoff for a request that failed once (the real retry `Schedule`). */
  readonly backoff: () => Backoff
  /** The pool's retry budget, when the config has one. */
  readonly budget: RetryBudget | undefined
  /** The status the proxy answers a failure with (`http/Failures.ts`). */
  readonly statusOf: (outcome: RequestOutcome) => number
  /** `timeouts.request`: the proxy stops waiting for a response head after this long. */
  readonly requestTimeoutMs: number
  readonly backends: ReadonlyArray<SimulatedBackend>
  readonly traffic: TrafficSettings
  /** Uniform draws for the traffic: the same for every strategy. */
  readonly trafficRandom: () => number
  /** Uniform draws for what is not the traffic's: retries and replays. */
  readonly serviceRandom: () => number
}

export interface BackendTally {
  readonly name: string
  /** Attempts sent to it, retries included. */
  attempts: number
  /** The most requests it had in flight at once, as the registry counts them. */
  peakInFlight: number
}

export interface LabResults {
  readonly recorder: SampleRecorder
  readonly backends: ReadonlyArray<BackendTally>
  /** Attempts after the first, over all requests. */
  readonly retries: number
  /** Attempts replayed on a fresh connection after a reset (not retries: same backend, no backoff). */
  readonly replays: number
}

export interface Lab {
  /** When the next happening is due; `Infinity` once every request has its answer. */
  readonly nextAt: () => number
  /**
   * Runs the happenings due before `limit`, in order. Returns `true` when it stopped early,
   * right after one that moved the registry's version, so that observers of the event stream
   * (the breaker's timers) can catch up before time moves on.
   */
  readonly runUntil: (limit: number) => boolean
  /** A backend's condition at `at`: what a health probe finds. */
  readonly conditionOf: (backend: string, at: number) => Condition | undefined
  readonly results: () => LabResults
}

interface Request {
  readonly arrival: Arrival
  readonly facts: RequestFacts
  attempt: number
  backend: string
  epoch: number
  startedAt: number
  tried: Set<string> | undefined
  backoff: Backoff | undefined
  replayed: boolean
  /** Moves when the current attempt is ended early (its backend went down): its scheduled end is void. */
  ticket: number
}

type Happening =
  | { readonly _tag: "Arrival"; readonly arrival: Arrival }
  | { readonly _tag: "Answer"; readonly request: Request; readonly ticket: number; readonly answer: Answer }
  | { readonly _tag: "Retry"; readonly request: Request; readonly outcome: RequestOutcome }
  | { readonly _tag: "Down"; readonly backend: string }

interface Member {
  readonly model: SimulatedBackend
  readonly timeline: Timeline
  readonly tally: BackendTally
  readonly inFlight: Set<Request>
}

const reset: Answer = { outcome: "reset", afterMs: 0, sent: true, responded: false }

const noHeader = (): string | undefined => undefined

/** The status of an answer with a response head: relayed to the client as the backend gave it. */
const respondedStatus: Partial<Record<RequestOutcome, number>> = { success: 200, overloaded: 503 }

export const makeLab = (env: LabEnv): Lab => {
  const { registry, time } = env
  const agenda = makeEventQueue<Happening>()
  const members = new Map<string, Member>(env.backends.map((model) => [model.name, {
    model,
    timeline: timelineOf(model),
    tally: { name: model.name, attempts: 0, peakInFlight: 0 },
    inFlight: new Set<Request>()
  }]))
  const facts: ReadonlyArray<RequestFacts> = Array.from({ length: env.traffic.clients }, (_, client) => ({
    clientAddress: clientAddress(client),
    path: "/",
    header: noHeader
  }))
  const recorder = makeSampleRecorder(env.traffic.durationMs * env.traffic.ratePerSecond / 1000)
  const nextArrival = makeArrivals(env.traffic, env.trafficRandom)
  let retries = 0
  let replays = 0
  let seenVersion = registry.version()

  const scheduleArrival = () => {
    const arrival = nextArrival()
    if (arrival !== undefined) agenda.push(arrival.at, { _tag: "Arrival", arrival })
  }
  for (const [name, member] of members) {
    for (const change of member.model.changes) {
      if (change.down === true) agenda.push(change.atMs, { _tag: "Down", backend: name })
    }
  }
  scheduleArrival()

  const respond = (request: Request, status: number) =>
    recorder.record(request.arrival.at, time.now - request.arrival.at, status)

  const dispatch = (request: Request, uLatency: number, uError: number) => {
    const member = members.get(request.backend)
    if (member === undefined) return
    const inFlight = registry.get(request.backend)?.inFlight ?? 1
    if (inFlight > member.tally.peakInFlight) member.tally.peakInFlight = inFlight
    member.inFlight.add(request)
    const reply = answer(member.model, conditionAt(member.timeline, time.now), inFlight, uLatency, uError, env.requestTimeoutMs)
    agenda.push(time.now + reply.afterMs, { _tag: "Answer", request, ticket: request.ticket, answer: reply })
  }

  const begin = (request: Request, backend: BackendState, uLatency: number, uError: number) => {
    request.attempt++
    request.backend = backend.spec.name
    request.epoch = backend.epoch
    request.replayed = false
    request.startedAt = time.now
    if (request.attempt > 1) retries++
    const member = members.get(request.backend)
    if (member !== undefined) member.tally.attempts++
    registry.emit({ _tag: "RequestStarted", at: time.now, backend: request.backend, epoch: request.epoch, attempt: request.attempt })
    dispatch(request, uLatency, uError)
  }

  const arrive = (arrival: Arrival) => {
    scheduleArrival()
    const request: Request = {
      arrival,
      facts: facts[arrival.client] ?? { clientAddress: clientAddress(arrival.client), path: "/", header: noHeader },
      attempt: 0,
      backend: "",
      epoch: 0,
      startedAt: 0,
      tried: undefined,
      backoff: undefined,
      replayed: false,
      ticket: 0
    }
    const backend = env.select(request.facts, undefined)
    if (backend === undefined) return respond(request, 503)
    env.budget?.deposit(time.now)
    begin(request, backend, arrival.uLatency, arrival.uError)
  }

  /** As `ProxyExchange` reports it: an overload's pause only when the backend's policy honours it, capped. */
  const holdOf = (request: Request, reply: Answer): { readonly retryAfterMs?: number } => {
    const retryAfterMs = honouredPauseMs(reply.retryAfterMs, registry.get(request.backend)?.policy.retryAfterMaxMs)
    return retryAfterMs === undefined ? {} : { retryAfterMs }
  }

  const finish = (request: Request, reply: Answer) => {
    members.get(request.backend)?.inFlight.delete(request)
    registry.emit({
      _tag: "RequestFinished",
      at: time.now,
      backend: request.backend,
      epoch: request.epoch,
      outcome: reply.outcome,
      latencyMs: time.now - request.startedAt,
      ...holdOf(request, reply)
    })
    if (reply.responded) return respond(request, respondedStatus[reply.outcome] ?? 500)
    const failed: FailedAttempt = {
      method: request.arrival.post ? "POST" : "GET",
      outcome: reply.outcome,
      hasBody: request.arrival.post,
      sent: reply.sent,
      bodyIntact: !reply.sent,
      responded: false
    }
    request.backoff ??= env.backoff()
    const delay = request.backoff(time.now, failed)
    if (delay === undefined) return respond(request, env.statusOf(reply.outcome))
    agenda.push(time.now + delay, { _tag: "Retry", request, outcome: reply.outcome })
  }

  const answered = (request: Request, reply: Answer) => {
    // ProxyExchange's replay: a reset before any response, of a request without a body, is sent
    // once more on a fresh connection to the same backend, as the same attempt.
    if (reply.outcome === "reset" && !request.arrival.post && !request.replayed) {
      request.replayed = true
      replays++
      members.get(request.backend)?.inFlight.delete(request)
      return dispatch(request, env.serviceRandom(), env.serviceRandom())
    }
    finish(request, reply)
  }

  const retry = (request: Request, outcome: RequestOutcome) => {
    const tried = request.tried ?? new Set<string>()
    request.tried = tried
    tried.add(request.backend)
    const next = env.select(request.facts, tried)
    if (next === undefined || (env.budget !== undefined && !env.budget.withdraw(time.now))) {
      return respond(request, env.statusOf(outcome))
    }
    begin(request, next, env.serviceRandom(), env.serviceRandom())
  }

  /** A backend went down: what it had in flight is reset now. */
  const goDown = (backend: string) => {
    const member = members.get(backend)
    if (member === undefined) return
    for (const request of Array.from(member.inFlight)) {
      request.ticket++
      answered(request, reset)
    }
  }

  const happen = (happening: Happening) => {
    switch (happening._tag) {
      case "Arrival":
        return arrive(happening.arrival)
      case "Answer":
        if (happening.ticket === happening.request.ticket) answered(happening.request, happening.answer)
        return
      case "Retry":
        return retry(happening.request, happening.outcome)
      case "Down":
        return goDown(happening.backend)
    }
  }

  return {
    nextAt: agenda.nextAt,
    runUntil: (limit) => {
      while (agenda.nextAt() < limit) {
        const next = agenda.pop()
        if (next === undefined) return false
        time.now = next.at
        happen(next.value)
        const version = registry.version()
        if (version !== seenVersion) {
          seenVersion = version
          return true
        }
      }
      return false
    },
    conditionOf: (backend, at) => {
      const member = members.get(backend)
      return member === undefined ? undefined : conditionAt(member.timeline, at)
    },
    results: () => ({
      recorder,
      backends: Array.from(members.values(), (member) => member.tally),
      retries,
      replays
    })
  }
}
