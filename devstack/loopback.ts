// What every loopback double of a remote service shares: a server on 127.0.0.1 with a random port,
// scripted failures and latency per operation, and a close() that also releases requests held open.

/** Waits `ms`, or less when `signal` aborts (so close() never waits on a scripted delay). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** Failures queued per operation (taken one per request) and latency per operation or for all. */
export class ScriptedFaults<Operation extends string, Failure> {
  #failures = new Map<Operation, Failure[]>();
  #latency = new Map<Operation | "*", number>();

  constructor(latencyMs = 0) {
    this.#latency.set("*", latencyMs);
  }

  failNext(operation: Operation, failure: Failure, times = 1): void {
    const queue = this.#failures.get(operation) ?? [];
    for (let i = 0; i < times; i++) queue.push(failure);
    this.#failures.set(operation, queue);
  }

  /** The next scripted failure of `operation`, consumed. */
  take(operation: Operation): Failure | undefined {
    return this.#failures.get(operation)?.shift();
  }

  setLatency(ms: number, operation?: Operation): void {
    this.#latency.set(operation ?? "*", ms);
  }

  latencyFor(operation: Operation | null | undefined): number {
    return (operation && this.#latency.get(operation)) ?? this.#latency.get("*") ?? 0;
  }
}

export type LoopbackServer = {
  url: string;
  /** Aborted by close(): scripted delays and hung requests end with it. */
  closing: AbortSignal;
  close(): Promise<void>;
};

export function serveOnLoopback(handler: (req: Request) => Response | Promise<Response>): LoopbackServer {
  const closing = new AbortController();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, handler);
  let closed: Promise<void> | null = null;
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    closing: closing.signal,
    close() {
      closed ??= (async () => {
        closing.abort();
        await server.shutdown();
      })();
      return closed;
    },
  };
}
