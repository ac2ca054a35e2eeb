// A protocol-level double of OpenAI's Chat Completions API on loopback, for tests and simulated calls without
// OpenAI: `POST /v1/chat/completions` (streamed as server-sent events, or one JSON object) and `GET /v1/models`
// (what LiveKit's plugin asks when it prewarms), behind `Authorization: Bearer <key>`, with OpenAI's error
// shape. Replies come from a rule table the test supplies (first rule that answers wins); every request is
// recorded so tests can check what each side was told.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { text } from "node:stream/consumers";

export type ChatToolCall = {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
};

export type ChatMessage =
  | { role: "system" | "developer"; content: string }
  | { role: "user"; content: string }
  | { role: "assistant"; content?: string | null; tool_calls?: ChatToolCall[] }
  | { role: "tool"; tool_call_id: string; content: string };

export type ChatTool = {
  type: "function";
  function: { name: string; description?: string; parameters?: unknown };
};

/** The request body as OpenAI receives it (the fields the double reads; the rest is kept as sent). */
export type ChatRequest = {
  model: string;
  messages: ChatMessage[];
  tools?: ChatTool[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  [field: string]: unknown;
};

/** What the model answers: words, tool calls, or both (words first, as OpenAI streams them). */
export type ChatReply = {
  content?: string;
  toolCalls?: { name: string; arguments: Record<string, unknown> }[];
};

/** Answers a request it recognises; undefined lets the next rule try. */
export type ChatRule = (request: ChatRequest) => ChatReply | undefined;

/** The text of a message, whether sent as a string or as content parts. */
export function messageText(message: ChatMessage | undefined): string {
  const content = (message as { content?: unknown } | undefined)?.content;
  if (typeof content === "string") return content;
  if (Array.isArray(content)) return content.map((p) => (p as { text?: string }).text ?? "").join("");
  return "";
}

/** The request's tool names, in order. */
export function toolNames(request: ChatRequest): string[] {
  return (request.tools ?? []).map((t) => t.function.name);
}

class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null,
    readonly param?: string,
  ) {
    super(message);
  }
}

export class OpenAIDouble {
  readonly requests: ChatRequest[] = [];
  /** Requests no rule answered (answered 500, as a broken upstream would be). */
  readonly unanswered: ChatRequest[] = [];
  rules: ChatRule[];
  readonly #server: Server;
  readonly #apiKey: string;
  #ids = 0;

  private constructor(server: Server, apiKey: string, rules: ChatRule[]) {
    this.#server = server;
    this.#apiKey = apiKey;
    this.rules = rules;
  }

  static async start(options: { apiKey: string; rules?: ChatRule[] }): Promise<OpenAIDouble> {
    const server = createServer();
    const double = new OpenAIDouble(server, options.apiKey, options.rules ?? []);
    server.on("request", (req, res) => void double.#handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return double;
  }

  /** The base URL clients are given (OPENAI_BASE_URL), with OpenAI's `/v1`. */
  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/v1`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await text(req);
    try {
      this.#authorize(req.headers.authorization);
      const path = new URL(req.url ?? "/", "http://double").pathname;
      if (req.method === "GET" && path === "/v1/models") {
        return json(res, 200, {
          object: "list",
          data: [{ id: "gpt-4.1-mini", object: "model", created: 1_744_316_542, owned_by: "system" }],
        });
      }
      if (req.method !== "POST" || path !== "/v1/chat/completions") {
        throw new RequestError(404, `Invalid URL (${req.method} ${path})`, null);
      }
      const request = parseRequest(body);
      this.requests.push(request);
      const reply = this.#reply(request);
      if (!reply) {
        this.unanswered.push(request);
        throw new RequestError(500, "The server had an error while processing your request.", null);
      }
      if (request.stream) this.#stream(res, request, reply);
      else json(res, 200, this.#completion(request, reply));
    } catch (error) {
      const e = error instanceof RequestError ? error : new RequestError(500, "internal error", null);
      json(res, e.status, {
        error: {
          message: e.message,
          type: e.status === 500 ? "server_error" : "invalid_request_error",
          param: e.param ?? null,
          code: e.code,
        },
      });
    }
  }

  #authorize(header: string | undefined): void {
    const key = /^Bearer (.+)$/.exec(header ?? "")?.[1];
    if (!key) {
      throw new RequestError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using " +
          "Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        null,
      );
    }
    // OpenAI names the key it refused (masked); the double does not repeat keys at all.
    if (key !== this.#apiKey) throw new RequestError(401, "Incorrect API key provided.", "invalid_api_key");
  }

  #reply(request: ChatRequest): ChatReply | undefined {
    for (const rule of this.rules) {
      const reply = rule(request);
      if (reply) return reply;
    }
    return undefined;
  }

  #toolCalls(reply: ChatReply): ChatToolCall[] {
    return (reply.toolCalls ?? []).map((call) => ({
      id: `call_${++this.#ids}`,
      type: "function",
      function: { name: call.name, arguments: JSON.stringify(call.arguments) },
    }));
  }

  #completion(request: ChatRequest, reply: ChatReply) {
    const toolCalls = this.#toolCalls(reply);
    return {
      id: `chatcmpl-${++this.#ids}`,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: request.model,
      choices: [{
        index: 0,
        message: {
          role: "assistant",
          content: reply.content ?? null,
          refusal: null,
          annotations: [],
          ...(toolCalls.length ? { tool_calls: toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: toolCalls.length ? "tool_calls" : "stop",
      }],
      usage: usage(request, reply),
      service_tier: "default",
      system_fingerprint: null,
    };
  }

  /** As OpenAI streams: a role chunk, the words in pieces, each tool call (name, then its arguments in
   * pieces), a chunk with the finish reason, the usage chunk when asked for, then `[DONE]`. */
  #stream(res: ServerResponse, request: ChatRequest, reply: ChatReply): void {
    const id = `chatcmpl-${++this.#ids}`;
    const created = Math.floor(Date.now() / 1000);
    const withUsage = request.stream_options?.include_usage === true;
    const envelope = {
      id,
      object: "chat.completion.chunk",
      created,
      model: request.model,
      service_tier: "default",
      system_fingerprint: null,
    };
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
      ...envelope,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...(withUsage ? { usage: null } : {}),
    });
    const events: unknown[] = [chunk({ role: "assistant", content: "", refusal: null })];
    for (const piece of reply.content?.match(/\S+\s*|\s+/g) ?? []) events.push(chunk({ content: piece }));
    const toolCalls = this.#toolCalls(reply);
    toolCalls.forEach((call, index) => {
      events.push(chunk({
        tool_calls: [{
          index,
          id: call.id,
          type: "function",
          function: { name: call.function.name, arguments: "" },
        }],
      }));
      for (const piece of call.function.arguments.match(/.{1,8}/gs) ?? []) {
        events.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
      }
    });
    events.push(chunk({}, toolCalls.length ? "tool_calls" : "stop"));
    if (withUsage) {
      events.push({ ...envelope, choices: [], usage: usage(request, reply) });
    }
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache",
      Connection: "keep-alive",
    });
    for (const event of events) res.write(`data: ${JSON.stringify(event)}\n\n`);
    res.end("data: [DONE]\n\n");
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "Content-Type": "application/json" }).end(JSON.stringify(body));
}

/** Token counts of the right order (about four characters a token): the double has no tokenizer. */
function usage(request: ChatRequest, reply: ChatReply) {
  const prompt = Math.ceil(JSON.stringify(request.messages).length / 4);
  const completion = Math.ceil(
    ((reply.content ?? "").length + JSON.stringify(reply.toolCalls ?? []).length) / 4,
  );
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

const ROLES = new Set(["system", "developer", "user", "assistant", "tool"]);

/** The checks OpenAI makes that a client of ours could get wrong: shape, roles, tool call pairing. */
function parseRequest(body: string): ChatRequest {
  let request: ChatRequest;
  try {
    request = JSON.parse(body);
  } catch {
    throw new RequestError(400, "We could not parse the JSON body of your request.", null);
  }
  if (typeof request?.model !== "string" || !request.model) {
    throw new RequestError(400, "you must provide a model parameter", null, "model");
  }
  if (!Array.isArray(request.messages) || request.messages.length === 0) {
    throw new RequestError(400, "Invalid 'messages': empty array.", "empty_array", "messages");
  }
  let awaited = new Set<string>();
  request.messages.forEach((message, i) => {
    if (!ROLES.has(message?.role)) {
      throw new RequestError(
        400,
        `Invalid value: '${message?.role}'.`,
        "invalid_value",
        `messages[${i}].role`,
      );
    }
    if (message.role === "tool") {
      if (!awaited.delete(message.tool_call_id)) {
        throw new RequestError(
          400,
          "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with " +
            "'tool_calls'.",
          null,
          `messages.[${i}].role`,
        );
      }
      return;
    }
    if (awaited.size > 0) throw unansweredToolCalls(awaited);
    if (message.role === "assistant") awaited = new Set((message.tool_calls ?? []).map((c) => c.id));
  });
  if (awaited.size > 0) throw unansweredToolCalls(awaited);
  return request;
}

function unansweredToolCalls(ids: Set<string>): RequestError {
  return new RequestError(
    400,
    "An assistant message with 'tool_calls' must be followed by tool messages responding to each " +
      `'tool_call_id'. The following tool_call_ids did not have response messages: ${[...ids].join(", ")}`,
    null,
    "messages",
  );
}
