// Traces to Langfuse over OpenTelemetry, with PHI kept out:
//   - LiveKit's own PII filter runs with allowPii false (it strips `lk.pii.*` and the GenAI content
//     attributes before any exporter);
//   - every span then passes PhiRedactingSpanProcessor on its way to the exporter: attributes, event
//     attributes, span name and status message are redacted with shared/redaction (content-bearing keys
//     wholesale, the rest against the call's known PHI and the shape rules). The exporter only ever sees
//     the redacted copy; LiveKit and OpenTelemetry keep their own span objects untouched.
// Langfuse v5 exports only spans it recognises (its own, GenAI-attributed, known LLM instrumentations):
// LiveKit's spans (scope `livekit-agents`) and ours are let through explicitly.
// One trace per call: the call's root span is active while the AgentSession starts, so the session's
// spans (turns, inference, tools) nest under it.
import { type Context, context as otelContext, type Span, trace } from "@opentelemetry/api";
import { isDefaultExportSpan, LangfuseSpanProcessor } from "@langfuse/otel";
import type { ReadableSpan, Span as SdkSpan, SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { telemetry } from "@livekit/agents";
import type { PhiRegistry } from "./phi.ts";

export const TRACER_NAME = "intake-agent";
const EXPORTED_SCOPES = new Set([TRACER_NAME, "livekit-agents"]);

/** Hands the exporter a redacted view of each ended span. */
export class PhiRedactingSpanProcessor implements SpanProcessor {
  constructor(private readonly inner: SpanProcessor, private readonly phi: PhiRegistry) {}

  onStart(span: SdkSpan, parentContext: Context): void {
    this.inner.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    this.inner.onEnd(redactedSpan(span, this.phi));
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }
}

/** A copy-on-read view: the span's own methods (spanContext(), ...) keep working through the prototype. */
export function redactedSpan(span: ReadableSpan, phi: PhiRegistry): ReadableSpan {
  return Object.create(span, {
    name: { value: phi.redactText(span.name), enumerable: true },
    attributes: { value: phi.redactAttributes(span.attributes), enumerable: true, writable: true },
    events: {
      value: span.events.map((event) => ({
        ...event,
        name: phi.redactText(event.name),
        attributes: event.attributes ? phi.redactAttributes(event.attributes) : event.attributes,
      })),
      enumerable: true,
    },
    status: {
      value: span.status.message
        ? { ...span.status, message: phi.redactText(span.status.message) }
        : span.status,
      enumerable: true,
    },
  }) as ReadableSpan;
}

export type Tracing = {
  /** Runs `fn` inside the call's root span (one trace per call); ends the span when `fn` settles. */
  inCallSpan<T>(
    attributes: Record<string, string | number | boolean>,
    fn: (span: Span) => Promise<T>,
  ): Promise<T>;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
};

export function setUpTracing(options: {
  phi: PhiRegistry;
  langfuse: { publicKey: string; secretKey: string; baseUrl: string };
}): Tracing {
  const langfuse = new LangfuseSpanProcessor({
    publicKey: options.langfuse.publicKey,
    secretKey: options.langfuse.secretKey,
    baseUrl: options.langfuse.baseUrl,
    mediaUploadEnabled: false,
    shouldExportSpan: ({ otelSpan }) =>
      EXPORTED_SCOPES.has(otelSpan.instrumentationScope.name) || isDefaultExportSpan(otelSpan),
  });
  const fanout = new telemetry.FanoutSpanProcessor();
  const provider = new NodeTracerProvider({
    spanProcessors: [fanout, new PhiRedactingSpanProcessor(langfuse, options.phi)],
  });
  provider.register();
  telemetry.setTracerProvider(provider, {
    allowPii: false,
    registerSpanProcessor: (processor) => fanout.add(processor),
  });
  const tracer = provider.getTracer(TRACER_NAME);
  return {
    inCallSpan: (attributes, fn) =>
      tracer.startActiveSpan("intake_call", {
        attributes: { "langfuse.trace.name": "intake-call", ...attributes },
      }, async (span) => {
        try {
          return await otelContext.with(trace.setSpan(otelContext.active(), span), () => fn(span));
        } finally {
          span.end();
        }
      }),
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}
