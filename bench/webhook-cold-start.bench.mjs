// Cold start of the Twilio webhooks: a fresh `deno run` process serving the function's handler, from spawn to
// the first successful answer to a real signed request (signature check, the SQL function called through the
// REST API, TwiML), against an empty Deno.serve function measured the same way in the same run. Target: each
// within 1.5x of the empty function. Kept out of these paths: the `twilio` package and postgres.js (measured
// here for context). The REST API is the PostgREST stand-in on loopback, already running, as the project's
// PostgREST is. Module caches are warmed first, as a deployed bundle is; every measured run is a new process.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SignJWT } from "jose";
import postgres from "postgres";
import twilio from "twilio";
import { PostgrestDouble } from "../devstack/doubles/postgrest/postgrest-double.ts";
import { prepareDatabase, resolveDatabase } from "../devstack/postgres/database.mjs";
import { freePort } from "../devstack/free-port.mjs";
import { ROOT } from "../devstack/postgres/postgres-cluster.mjs";
import { median, report } from "./lib.mjs";

const RUNS = 30;
const PUBLIC = "https://project-ref.supabase.co/functions/v1";
const AUTH_TOKEN = "b".repeat(32);
const ACCOUNT_SID = "AC" + "c".repeat(32);

const db = await resolveDatabase("test", { log: () => {} });
await prepareDatabase(db, { fresh: true });
const sql = postgres(db.url, { max: 2, onnotice: () => {} });
const JWT_SECRET = "bench-jwt-secret-with-at-least-32-characters";
const rest = await PostgrestDouble.start({ databaseUrl: db.url, jwtSecret: JWT_SECRET });
const serviceRoleKey = await new SignJWT({ role: "service_role" }).setProtectedHeader({ alg: "HS256" })
  .sign(new TextEncoder().encode(JWT_SECRET));

// One live Twilio attempt per request, brought there through the state-machine functions.
const [org] = await sql`insert into public.organizations (name, slug) values ('Bench', 'bench') returning id`;
const [template] = await sql`insert into public.call_templates (org_id, name, fallback_prompt, greeting)
                             values (${org.id}, 'T', 'p', 'g') returning id`;
async function liveAttempt() {
  const [call] = await sql`insert into public.intake_calls (org_id, template_id, callee_phone, carrier)
                           values (${org.id}, ${template.id}, '+12125550100', 'twilio') returning id`;
  await sql`update public.intake_calls set claim_token = gen_random_uuid() where id = ${call.id}`;
  await sql`select private.transition_call(${call.id}, 'dispatching', 'scheduler', 'call.claimed')`;
  const [session] = await sql`
    select (public.start_call_attempt(id, claim_token)).id from public.intake_calls where id = ${call.id}`;
  const callSid = "CA" + crypto.randomUUID().replaceAll("-", "");
  await sql`select public.mark_session_dialing(${session.id}, ${callSid})`;
  return { sessionId: session.id, callSid };
}

function signedRequest(fn, sessionId, params) {
  const query = `session_id=${sessionId}`;
  return {
    path: `/${fn}?${query}`,
    init: {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": twilio.getExpectedTwilioSignature(
          AUTH_TOKEN,
          `${PUBLIC}/${fn}?${query}`,
          params,
        ),
      },
      body: new URLSearchParams(params).toString(),
    },
  };
}

const requests = {
  empty: () => ({ path: "/", init: { method: "GET" }, expect: 204 }),
  "database-floor": () => ({ path: "/", init: { method: "GET" }, expect: 204 }),
  "twilio-package": () => ({ path: "/", init: { method: "GET" }, expect: 200 }),
  "twilio-status": async () => {
    const { sessionId, callSid } = await liveAttempt();
    const params = { AccountSid: ACCOUNT_SID, CallSid: callSid, CallStatus: "ringing", SequenceNumber: "1" };
    return { ...signedRequest("twilio-status", sessionId, params), expect: 204 };
  },
  "twilio-voice": async () => {
    const { sessionId, callSid } = await liveAttempt();
    const params = { AccountSid: ACCOUNT_SID, CallSid: callSid, CallStatus: "in-progress" };
    return { ...signedRequest("twilio-voice", sessionId, params), expect: 200, includes: "<Dial" };
  },
};

// The entries: each serves one handler on the port it is given.
const dir = join(ROOT, ".local", "cold-start");
mkdirSync(dir, { recursive: true });
const serve =
  `Deno.serve({ hostname: "127.0.0.1", port: Number(Deno.env.get("PORT")), onListen() {} }, handler);\n`;
writeFileSync(join(dir, "empty.ts"), `const handler = () => new Response(null, { status: 204 });\n${serve}`);
// The floor any function that reads the database pays: postgres.js (and the Node compatibility layer under it)
// loaded, a connection opened and authenticated (SCRAM), one query.
writeFileSync(
  join(dir, "database-floor.ts"),
  `import { connect } from "../../supabase/functions/_shared/database.ts";\n` +
    `const sql = connect(Deno.env.get("SUPABASE_DB_URL"));\n` +
    `const handler = async () => { await sql\`select 1\`; return new Response(null, { status: 204 }); };\n${serve}`,
);
// What importing the `twilio` package alone would cost (the reason the webhooks build TwiML and check
// signatures without it).
writeFileSync(
  join(dir, "twilio-package.ts"),
  `import twilio from "twilio";\nconst handler = () => new Response(typeof twilio, { status: 200 });\n${serve}`,
);
// The functions exactly as their index.ts builds them, on the given port.
for (const fn of ["twilio-status", "twilio-voice"]) {
  writeFileSync(
    join(dir, `${fn}.ts`),
    `import { create } from "../../supabase/functions/${fn}/handler.ts";\n` +
      `const handler = create({ env: Deno.env.toObject() });\n${serve}`,
  );
}

/** Milliseconds from spawning `deno run` to the first answer to `request` (retried while nothing listens). */
async function coldStart(name, request) {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(join(ROOT, "node_modules", ".bin", "deno"), [
    "run",
    "-A",
    "--config",
    join(ROOT, "deno.json"),
    join(dir, `${name}.ts`),
  ], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "inherit"],
    env: {
      ...process.env,
      PORT: String(port),
      SUPABASE_DB_URL: db.url,
      SUPABASE_URL: rest.url,
      SUPABASE_SERVICE_ROLE_KEY: serviceRoleKey,
      TWILIO_ACCOUNT_SID: ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      PUBLIC_FUNCTIONS_URL: PUBLIC,
      LIVEKIT_SIP_URI: "sip:bench.sip.livekit.cloud",
    },
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    for (;;) {
      let res;
      try {
        res = await fetch(`http://127.0.0.1:${port}${request.path}`, request.init);
      } catch {
        if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
        await new Promise((r) => setTimeout(r, 1));
        continue;
      }
      const body = await res.text();
      const elapsed = performance.now() - started;
      if (res.status !== request.expect || (request.includes && !body.includes(request.includes))) {
        throw new Error(`${name} answered ${res.status}: ${body.slice(0, 200)}`);
      }
      return elapsed;
    }
  } finally {
    child.kill("SIGTERM");
    await exited;
  }
}

const names = Object.keys(requests);
for (const name of names) await coldStart(name, await requests[name]()); // warm the module caches
const times = Object.fromEntries(names.map((n) => [n, []]));
for (let run = 0; run < RUNS; run++) {
  for (const name of names) times[name].push(await coldStart(name, await requests[name]()));
}
await sql.end();
await rest.close();

const baseline = median(times.empty);
const floor = median(times["database-floor"]);
for (const name of names) {
  const sorted = [...times[name]].sort((a, b) => a - b).map((t) => t.toFixed(0));
  console.log(
    `${name.padEnd(15)} median ${median(times[name]).toFixed(1)} ms over ${RUNS} fresh processes (${
      sorted.join(", ")
    })`,
  );
}
// The target: within 1.5x of an empty Deno.serve. For context, the same ratio over the database floor, which
// a function reading the database through postgres.js pays before its own code runs.
for (const name of ["twilio-status", "twilio-voice"]) {
  report(`${name} cold start`, median(times[name]), "ms", Number((1.5 * baseline).toFixed(1)));
  console.log(
    `  ${name}: ${(median(times[name]) / baseline).toFixed(2)}x the empty function (target <= 1.5), ` +
      `${(median(times[name]) / floor).toFixed(2)}x the database floor`,
  );
}
