// Plays pg_net's background worker for the local stack on plain Postgres: sends the requests that
// committed transactions queued in net.http_request_queue and records each answer in
// net._http_response, as pg_net does. Woken by the NOTIFY the queue insert raises (Postgres delivers
// it only on commit), with a slow poll as a safety net.
import postgres from "postgres";

const BATCH = 200;

export async function startPgNetWorker(databaseUrl, { log = () => {} } = {}) {
  const sql = postgres(databaseUrl, { max: 4, onnotice: () => {} });
  let running = true;
  let draining = Promise.resolve();
  let again = false;

  async function send(request) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), request.timeout_milliseconds);
    try {
      const res = await fetch(request.url, {
        method: request.method,
        headers: request.headers,
        body: request.body ?? undefined,
        signal: controller.signal,
      });
      const content = await res.text();
      return {
        status_code: res.status,
        content_type: res.headers.get("content-type"),
        headers: Object.fromEntries(res.headers),
        content,
        timed_out: false,
        error_msg: null,
      };
    } catch (err) {
      const timedOut = controller.signal.aborted;
      return {
        status_code: null,
        content_type: null,
        headers: null,
        content: null,
        timed_out: timedOut,
        error_msg: timedOut ? "Timeout was reached" : String(err?.message ?? err),
      };
    } finally {
      clearTimeout(timer);
    }
  }

  async function drainOnce() {
    const requests = await sql`
      delete from net.http_request_queue
       where id in (select id from net.http_request_queue order by id limit ${BATCH} for update skip locked)
       returning id, method, url, headers, body, timeout_milliseconds`;
    await Promise.all(requests.map(async (request) => {
      const response = await send(request);
      log(
        `pg_net ${request.method} ${new URL(request.url).pathname} -> ${
          response.status_code ?? response.error_msg
        }`,
      );
      await sql`insert into net._http_response ${sql({ id: request.id, ...response })}`;
    }));
    return requests.length;
  }

  function drain() {
    if (!running) return draining;
    again = true;
    draining = draining.then(async () => {
      while (running && again) {
        again = false;
        try {
          if ((await drainOnce()) === BATCH) again = true;
        } catch (err) {
          log(`pg_net stand-in: ${err.message}`);
        }
      }
    });
    return draining;
  }

  const listener = await sql.listen("pg_net_request_queued", () => drain());
  const poll = setInterval(drain, 1_000);
  await drain();
  return {
    drain,
    async stop() {
      running = false;
      clearInterval(poll);
      await listener.unlisten();
      await draining;
      await sql.end({ timeout: 2 });
    },
  };
}
