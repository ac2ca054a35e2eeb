import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, langfuseSettings, loadConfig } from "./config.ts";
import { VALID_ENV } from "../../devstack/fixtures/worker-env.ts";

describe("worker configuration", () => {
  test("defaults: realtime mode, health on 8081, no Langfuse", () => {
    const config = loadConfig(VALID_ENV);
    assert.equal(config.AGENT_MODE, "realtime");
    assert.equal(config.AGENT_HEALTH_PORT, 8081);
    assert.equal(config.OPENAI_BASE_URL, undefined);
    assert.equal(langfuseSettings(config), null);
  });

  test("pipeline mode, a custom OpenAI endpoint and Langfuse", () => {
    const config = loadConfig({
      ...VALID_ENV,
      AGENT_MODE: "pipeline",
      OPENAI_BASE_URL: "http://127.0.0.1:8000/v1",
      LANGFUSE_PUBLIC_KEY: "pk-lf-1",
      LANGFUSE_SECRET_KEY: "sk-lf-1",
    });
    assert.equal(config.AGENT_MODE, "pipeline");
    assert.equal(config.OPENAI_BASE_URL, "http://127.0.0.1:8000/v1");
    assert.deepEqual(langfuseSettings(config), {
      publicKey: "pk-lf-1",
      secretKey: "sk-lf-1",
      baseUrl: "https://cloud.langfuse.com",
    });
  });

  test("missing or malformed variables are named, their values never shown", () => {
    const { OPENAI_API_KEY: _, ...withoutKey } = VALID_ENV;
    assert.throws(
      () =>
        loadConfig({
          ...withoutKey,
          SUPABASE_URL: "not a url",
          AGENT_MODE: "speech",
          LIVEKIT_API_SECRET: "s3cr3t",
        }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.variables.sort(), ["AGENT_MODE", "OPENAI_API_KEY", "SUPABASE_URL"]);
        assert.ok(!error.message.includes("s3cr3t"));
        return true;
      },
    );
  });

  test("Langfuse keys come as a pair", () => {
    assert.throws(() => loadConfig({ ...VALID_ENV, LANGFUSE_PUBLIC_KEY: "pk-lf-1" }), /set together/);
  });
});
