// The demo organisation's webhook receiver, run by `npm start` (dev tooling, not product code): the demo org's
// webhook_url points here, and each delivery is verified with the Standard Webhooks library (as an app would
// verify it) and printed as event type, call id and status only: the body's other fields (external_ref,
// answers a later event may carry) stay unprinted, since they may be PHI.
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";

export const WEBHOOK_RECEIVER_PORT = Number(process.env.WEBHOOK_RECEIVER_PORT ?? 54328);

/**
 * An HTTP server that verifies each POST with the secret `secret()` gives at that moment (so a rotation is
 * picked up) and reports it through `print`: 204 when verified, 401 when not (the platform then retries).
 */
export function createWebhookReceiver({ secret, print = console.log }) {
  return createServer(async (req, res) => {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const body = Buffer.concat(chunks).toString("utf8");
    let event;
    try {
      event = new Webhook(await secret()).verify(body, req.headers);
    } catch (err) {
      print(`rejected delivery ${req.headers["webhook-id"] ?? "(no id)"}: ${err?.message ?? "not verified"}`);
      res.writeHead(401).end();
      return;
    }
    print(`verified ${event.type} call ${event.data?.intake_call_id} status ${event.data?.status}`);
    res.writeHead(204).end();
  });
}

// `node devstack/webhook-receiver.mjs`: point the demo org at this receiver and serve.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { default: postgres } = await import("postgres");
  const sql = postgres(process.env.SUPABASE_DB_URL, { max: 1, onnotice: () => {} });
  const url = `http://127.0.0.1:${WEBHOOK_RECEIVER_PORT}/webhooks`;
  const [org] = await sql`
    update public.organizations set webhook_url = ${url} where slug = 'demo-clinic' returning id`;
  if (!org) {
    // Stay up: `npm start` stops the whole stack when one of its children exits.
    console.log("no demo organisation (slug demo-clinic): nothing to receive");
    setInterval(() => {}, 1 << 30);
  } else {
    // As postgres, the database owner: the same call the README documents for Studio.
    const secret = async () => (await sql`select public.webhook_signing_secret(${org.id}) as s`)[0].s;
    createWebhookReceiver({ secret }).listen(
      WEBHOOK_RECEIVER_PORT,
      "127.0.0.1",
      () => console.log(`listening on ${url} (the demo org's webhook_url); prints each verified delivery`),
    );
    process.on("SIGTERM", () => sql.end().finally(() => process.exit(0)));
  }
}
