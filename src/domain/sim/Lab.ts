/**
 * The strategy lab's proxy without sockets: a discrete-event loop over an agenda of arrivals,
 * answers, retries and backends going down. It is a driver of the attempt rules
 * (`domain/exchange/Attempt.ts`), as `http/ProxyExchange.ts` is: each request is placed by the real
 * routing (the pool's strategy over the registry), each attempt's events and what follows its
 * failure (replay, backoff and retry, or the failure's status) are the rules', so the lab cannot
 * drift from the proxy. Only the backends (`BackendModel`) and time are simulated.
 *
 * The lab's time is its agenda's;
 * the program moves Effect's `TestClock` along with it for the timers (probes, breaker), which
 * is why `runUntil` stops where a timer is due, and right after anything that changed health or
 * a circuit (the breaker's timer must be armed before time goes on).
 */
import type { Excluded } from "../Availability.ts"
import type { BackendEvent, RequestOutcome } from "../BackendEvent.ts"
import type { BackendState } from "../BackendState.ts"
import type { Attempt, RequestTraits } from "../exchange/Attempt.ts"
import {
  afterBackoff,
  afterFailure,
  answerOutcome,
  begin as beginAttempt,
  failedAttempt,
  finish as finishAttempt,
  replaying,
  responded,
  sending,
  startedEvent
} from "../exchange/Attempt.ts"
import { failureAnswer, noBackendAnswer } from "../exchange/Statuses.ts"
import { honouredPauseMs } from "../retry/RetryAfter.ts"
import type { RetryBudget } from "../retry/RetryBudget.ts"
import type { Backoff } from "../retry/RetryPolicy.ts"
import type { RequestFacts } from "../selection/Strategy.ts"
import type { Answer, Condition, SimulatedBackend, Timeline } from "./BackendModel.ts"
import { answer, conditionAt, timelineOf } from "./BackendModel.ts"
import { makeEventQueue } from "./EventQueue.ts"
import type { SampleRecorder } from "./Samples.ts"
import { makeSampleRecorder } from "./Samples.ts"
import type { Arrival } from "./Traffic.ts"
import { clientAddress } from "./Traffic.ts"

/** What a run sends through the proxy: its simulated backends and its requests. */
export interface Workload {
  readonly backends: ReadonlyArray<SimulatedBackend>
  /** As `LabEnv.clients`. */
  readonly clients: number
  readonly expectedRequests: number
  /** A fresh source of the requests in arrival order, given the traffic's own uniform draws. */
  readonly arrivals: (random: () => number) => () => Arrival | undefined
}

/** What the lab needs of the registry: the real one (`BackendRegistryLive`). */
export interface LabRegistry {
  readonly emit: (event: BackendEvent) => void
  readonly get: (name: string) => BackendState | undefined
  /** Moves when health, a circuit or membership changes. */
  readonly version: () => number
}

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
  /** `retry.attempts`: total tries, the first included. */
  readonly maxAttempts: number
  /** `server.maxBodySize`, for the failure answers that name it. */
  readonly maxBodySize: number
  /** `timeouts.request`: the proxy stops waiting for a response head after this long. */
  readonly requestTimeoutMs: number
  readonly backends: ReadonlyArray<SimulatedBackend>
  /** The requests, in arrival order, one at a time (a million need not sit in memory). */
  readonly arrivals: () => Arrival | undefined
  /** Distinct clients of arrivals that carry no `facts` of their own (`clientAddress` of each). */
  readonly clients: number
  /** About how many requests will come: room for their samples is made at once. */
  readonly expectedRequests: number
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
  readonly traits: RequestTraits
  /** The current attempt; `undefined` only before the first begins. */
  attempt: Attempt | undefined
  tried: Set<string> | undefined
  backoff: Backoff | undefined
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

/** The status a simulated backend answers with, relayed to the client as it is. */
const respondedStatus: Partial<Record<RequestOutcome, number>> = { success: 200, overloaded: 503 }

/** The lab's two kinds of request: a GET, and a POST with a body. */
const getTraits = (maxAttempts: number): RequestTraits => ({ method: "GET", hasBody: false, maxAttempts, pooled: true })
const postTraits = (maxAttempts: number): RequestTraits => ({
  method: "POST",
  hasBody: true,
  maxAttempts,
  pooled: true
})

export const makeLab = (env: LabEnv): Lab => {
  const { registry, time } = env
  const agenda = makeEventQueue<Happening>()
  const members = new Map<string, Member>(env.backends.map((model) => [model.name, {
    model,
    timeline: timelineOf(model),
    tally: { name: model.name, attempts: 0, peakInFlight: 0 },
    inFlight: new Set<Request>()
  }]))
  const facts: ReadonlyArray<RequestFacts> = Array.from({ length: env.clients }, (_, client) => ({
    clientAddress: clientAddress(client),
    path: "/",
    header: noHeader
  }))
  const recorder = makeSampleRecorder(env.expectedRequests)
  const nextArrival = env.arrivals
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
    recorder.record(request.arrival.at, time.now - request.arrival.at + (request.arrival.afterMs ?? 0), status)

  const get = getTraits(env.maxAttempts)
  const post = postTraits(env.maxAttempts)

  const dispatch = (request: Request, attempt: Attempt, uLatency: number, uError: number) => {
    const member = members.get(attempt.backend)
    if (member === undefined) return
    const inFlight = registry.get(attempt.backend)?.inFlight ?? 1
    if (inFlight > member.tally.peakInFlight) member.tally.peakInFlight = inFlight
    member.inFlight.add(request)
    const reply = answer(
      member.model,
      conditionAt(member.timeline, time.now),
      inFlight,
      uLatency,
      uError,
      env.requestTimeoutMs
    )
    agenda.push(time.now + reply.afterMs, { _tag: "Answer", request, ticket: request.ticket, answer: reply })
  }

  const begin = (request: Request, backend: BackendState, uLatency: number, uError: number) => {
    const attempt = beginAttempt(request.attempt, backend.spec.name, backend.epoch, time.now)
    request.attempt = attempt
    if (attempt.number > 1) retries++
    const member = members.get(attempt.backend)
    if (member !== undefined) member.tally.attempts++
    registry.emit(startedEvent(attempt))
    dispatch(request, attempt, uLatency, uError)
  }

  const arrive = (arrival: Arrival) => {
    scheduleArrival()
    const request: Request = {
      arrival,
      facts: arrival.facts ?? facts[arrival.client] ??
        { clientAddress: clientAddress(arrival.client), path: "/", header: noHeader },
      traits: arrival.post ? post : get,
      attempt: undefined,
      tried: undefined,
      backoff: undefined,
      ticket: 0
    }
    const backend = env.select(request.facts, undefined)
    if (backend === undefined) return respond(request, noBackendAnswer.status)
    env.budget?.deposit(time.now)
    begin(request, backend, arrival.uLatency, arrival.uError)
  }

  const close = (attempt: Attempt, outcome: RequestOutcome): Attempt => {
    const closed = finishAttempt(attempt, outcome, time.now)
    if (closed === undefined) return attempt
    registry.emit(closed.event)
    return closed.attempt
  }

  const answered = (request: Request, reply: Answer) => {
    const current = request.attempt
    if (current === undefined) return
    members.get(current.backend)?.inFlight.delete(request)
    const attempt = reply.sent ? sending(current) : current
    if (reply.responded) {
      const status = respondedStatus[reply.outcome] ?? 500
      // As the exchange reports it: an overload's pause only when the backend's policy honours it, capped.
      const holdMs = honouredPauseMs(reply.retryAfterMs, registry.get(attempt.backend)?.policy.retryAfterMaxMs)
      const head = { status, at: time.now, askedToWait: reply.retryAfterMs !== undefined, holdMs }
      request.attempt = close(responded(attempt, head), answerOutcome(head))
      return respond(request, status)
    }
    const failure = { outcome: reply.outcome, bodyIntact: !reply.sent, clientGone: false }
    const next = afterFailure(request.traits, attempt, failure)
    if (next === "replay") {
      replays++
      request.attempt = replaying(attempt)
      return dispatch(request, request.attempt, env.serviceRandom(), env.serviceRandom())
    }
    request.attempt = close(attempt, reply.outcome)
    if (next !== "backoff") return respond(request, failureAnswer(reply.outcome, env.maxBodySize).status)
    request.backoff ??= env.backoff()
    const delay = request.backoff(time.now, failedAttempt(request.traits, attempt, failure))
    if (delay === undefined) return respond(request, failureAnswer(reply.outcome, env.maxBodySize).status)
    agenda.push(time.now + delay, { _tag: "Retry", request, outcome: reply.outcome })
  }

  const retry = (request: Request, outcome: RequestOutcome) => {
    const tried = request.tried ?? new Set<string>()
    request.tried = tried
    if (request.attempt !== undefined) tried.add(request.attempt.backend)
    const next = env.select(request.facts, tried)
    const budget = env.budget
    const decision = afterBackoff(next !== undefined, () => budget === undefined || budget.withdraw(time.now))
    if (decision === "answer" || next === undefined) {
      return respond(request, failureAnswer(outcome, env.maxBodySize).status)
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
