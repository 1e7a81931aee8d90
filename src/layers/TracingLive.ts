/**
 * Tracing through OpenTelemetry, set up by `@effect/opentelemetry`: a Node tracer provider with
 * a batching OTLP/HTTP exporter to `tracing.otlpEndpoint`, shut down (and flushed) with the
 * layer. `TracingWith(processor)` builds the same on any span processor (tests use an in-memory
 * exporter; embedding programs may bring their own pipeline).
 *
 * The OpenTelemetry SDK is only loaded when tracing is configured, so a proxy without it starts
 * as fast as one built without it.
 */
import type * as OtelApi from "@opentelemetry/api"
import type { Span, Tracer as OtelApiTracer } from "@opentelemetry/api"
import type { SpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer } from "effect"
import { ProxyConfig } from "../services/ProxyConfig.ts"
import { Tracing } from "../services/Tracing.ts"
import type { RequestTrace, RequestTraceFacts, TracingShape } from "../services/Tracing.ts"
import { version } from "../version.ts"

const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/

/** The spans of the data path, on an OpenTelemetry tracer. */
export const makeTracing = (tracer: OtelApiTracer, api: typeof OtelApi): TracingShape => {
  const { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } = api
  const parentOf = (traceparent: string | undefined) => {
    const match = traceparent === undefined ? null : traceparentPattern.exec(traceparent.trim())
    if (match === null) return ROOT_CONTEXT
    return trace.setSpanContext(ROOT_CONTEXT, {
      traceId: match[1] ?? "",
      spanId: match[2] ?? "",
      traceFlags: Number.parseInt(match[3] ?? "0", 16),
      isRemote: true
    })
  }
  const traceparentOf = (span: Span) => {
    const context = span.spanContext()
    return `00-${context.traceId}-${context.spanId}-${context.traceFlags.toString(16).padStart(2, "0")}`
  }
  return {
    startRequest: (facts: RequestTraceFacts): RequestTrace => {
      const span = tracer.startSpan(facts.method, {
        kind: SpanKind.SERVER,
        attributes: {
          "http.request.method": facts.method,
          "url.path": facts.path.split("?")[0] ?? facts.path,
          "http.route": "/*",
          "switchyard.request_id": facts.requestId
        }
      }, parentOf(facts.traceparent))
      const within = trace.setSpan(ROOT_CONTEXT, span)
      return {
        attempt: (backend, attempt) => {
          const child = tracer.startSpan("upstream", {
            kind: SpanKind.CLIENT,
            attributes: { "switchyard.backend": backend, "switchyard.attempt": attempt }
          }, within)
          return {
            traceparent: traceparentOf(child),
            end: (outcome, status) => {
              child.setAttribute("switchyard.outcome", outcome)
              if (status !== undefined) child.setAttribute("http.response.status_code", status)
              if (outcome !== "success") child.setStatus({ code: SpanStatusCode.ERROR, message: outcome })
              child.end()
            }
          }
        },
        end: ({ backend, retries, status }) => {
          span.setAttribute("http.response.status_code", status)
          span.setAttribute("switchyard.retries", retries)
          if (backend !== undefined) span.setAttribute("switchyard.backend", backend)
          if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR })
          span.end()
        }
      }
    }
  }
}

/** Tracing on `processor`, with `serviceName` as the resource's `service.name`. */
export const TracingWith = (processor: SpanProcessor, serviceName = "switchyard") =>
  Layer.unwrap(Effect.gen(function*() {
    const [api, NodeSdk, OtelTracer, Resource] = yield* Effect.promise(() =>
      Promise.all([
        import("@opentelemetry/api"),
        import("@effect/opentelemetry/NodeSdk"),
        import("@effect/opentelemetry/OtelTracer"),
        import("@effect/opentelemetry/Resource")
      ])
    )
    const tracing = Effect.map(OtelTracer.OtelTracer, (tracer) => Tracing.of(makeTracing(tracer, api)))
    return Layer.effect(Tracing, tracing).pipe(
      Layer.provide(OtelTracer.layerTracer),
      Layer.provide(NodeSdk.layerTracerProvider(processor)),
      Layer.provide(Resource.layer({ serviceName, serviceVersion: version }))
    )
  }))

export const TracingLive = Layer.unwrap(Effect.gen(function*() {
  const { tracing } = yield* ProxyConfig
  if (tracing === undefined) return Layer.succeed(Tracing, Tracing.of({ startRequest: undefined }))
  const [{ BatchSpanProcessor }, { OTLPTraceExporter }] = yield* Effect.promise(() =>
    Promise.all([import("@opentelemetry/sdk-trace-base"), import("@opentelemetry/exporter-trace-otlp-http")])
  )
  return TracingWith(
    new BatchSpanProcessor(new OTLPTraceExporter({ url: tracing.otlpEndpoint }), { scheduledDelayMillis: 500 }),
    tracing.serviceName
  )
}))
