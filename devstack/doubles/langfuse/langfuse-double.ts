// A loopback stand-in for Langfuse: the OTLP/HTTP trace endpoint (`POST /api/public/otel/v1/traces`, whose
// bodies are kept for inspection) and prompt management (`GET /api/public/v2/prompts/<name>?label=`), both
// behind Basic auth with the project's public/secret key pair, as Langfuse serves them.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { text } from "node:stream/consumers";

export type StoredPrompt = { name: string; label: string; version: number; prompt: string };

export class LangfuseDouble {
  readonly #server: Server;
  readonly #auth: string;
  readonly #prompts: StoredPrompt[] = [];
  /** Raw OTLP request bodies received, in order. */
  readonly traceBodies: string[] = [];
  promptRequests = 0;
  /** While true every request is answered 503. */
  down = false;
  url = "";

  private constructor(publicKey: string, secretKey: string) {
    this.#auth = `Basic ${Buffer.from(`${publicKey}:${secretKey}`).toString("base64")}`;
    this.#server = createServer(async (req, res) => {
      const body = await text(req);
      const url = new URL(req.url ?? "/", "http://x");
      const reply = (status: number, payload: unknown) => {
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(JSON.stringify(payload));
      };
      if (this.down) return reply(503, { message: "Service Unavailable" });
      if (req.headers.authorization !== this.#auth) return reply(401, { message: "Invalid credentials" });
      if (req.method === "POST" && url.pathname === "/api/public/otel/v1/traces") {
        this.traceBodies.push(body);
        return reply(200, {});
      }
      const prompt = /^\/api\/public\/v2\/prompts\/([^/]+)$/.exec(url.pathname);
      if (req.method === "GET" && prompt) {
        this.promptRequests++;
        const name = decodeURIComponent(prompt[1]);
        const label = url.searchParams.get("label") ?? "production";
        const found = this.#prompts.find((p) => p.name === name && p.label === label);
        if (!found) return reply(404, { message: `Prompt not found: '${name}' with label '${label}'` });
        return reply(200, {
          id: `prompt-${found.version}`,
          name: found.name,
          version: found.version,
          type: "text",
          prompt: found.prompt,
          config: {},
          labels: [found.label],
          tags: [],
          commitMessage: null,
        });
      }
      return reply(404, { message: "not found" });
    });
  }

  static async start(publicKey: string, secretKey: string): Promise<LangfuseDouble> {
    const double = new LangfuseDouble(publicKey, secretKey);
    await new Promise<void>((resolve) => double.#server.listen(0, "127.0.0.1", resolve));
    double.url = `http://127.0.0.1:${(double.#server.address() as AddressInfo).port}`;
    return double;
  }

  addPrompt(prompt: StoredPrompt): void {
    this.#prompts.push(prompt);
  }

  /** Every span name in the received OTLP JSON bodies. */
  spanNames(): string[] {
    const names: string[] = [];
    for (const body of this.traceBodies) {
      const parsed = JSON.parse(body) as {
        resourceSpans?: { scopeSpans?: { spans?: { name: string }[] }[] }[];
      };
      for (const rs of parsed.resourceSpans ?? []) {
        for (const ss of rs.scopeSpans ?? []) for (const span of ss.spans ?? []) names.push(span.name);
      }
    }
    return names;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
