import assert from "node:assert/strict";
import { test } from "node:test";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { SpanStatusCode } from "@opentelemetry/api";
import { PhiRegistry } from "./phi.ts";
import { PhiRedactingSpanProcessor } from "./tracing.ts";

test("the exporter only ever sees redacted spans", async () => {
  const phi = new PhiRegistry();
  phi.add("Evangeline", "hydroxychloroquine");
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    spanProcessors: [new PhiRedactingSpanProcessor(new SimpleSpanProcessor(exporter), phi)],
  });
  const span = provider.getTracer("t").startSpan("turn for Evangeline");
  span.setAttributes({
    "lk.user_transcript": "I take hydroxychloroquine",
    "intake.note": "Evangeline asked to be called at +1 212 555 0147",
    "gen_ai.usage.input_tokens": 42,
    "gen_ai.operation.name": "chat",
  });
  span.addEvent("exception", { "exception.type": "Error", "detail": "born 1979-11-02" });
  span.setStatus({ code: SpanStatusCode.ERROR, message: "failed for Evangeline" });
  span.end();
  await provider.forceFlush();

  const [exported] = exporter.getFinishedSpans();
  assert.equal(exported.name, "turn for [redacted]");
  assert.deepEqual(exported.attributes, {
    "lk.user_transcript": "[redacted]",
    "intake.note": "[redacted] asked to be called at [phone]",
    "gen_ai.usage.input_tokens": 42,
    "gen_ai.operation.name": "chat",
  });
  assert.deepEqual(exported.events[0].attributes, { "exception.type": "Error", "detail": "born [date]" });
  assert.equal(exported.status.message, "failed for [redacted]");
  assert.equal(exported.spanContext().spanId, span.spanContext().spanId, "the view still is the same span");
  await provider.shutdown();
});
