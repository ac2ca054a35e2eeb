import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
// The real twilio-node client, pointed at the double: the Api domain's `baseUrl` replaces
// https://api.twilio.com (twilio-node 5 builds every URL as domain.baseUrl + path; with no region or edge set
// the host is left alone). keepAlive: false makes it send `Connection: close`, so no socket outlives a test.
import twilio from "twilio";
import {
  publicUrlWithRequestQuery,
  verifyTwilioRequest,
} from "../../../supabase/functions/_shared/twilio-signature.ts";
import { startTwilioDouble, type TwilioDouble } from "./twilio-double.ts";

function clientFor(tw: TwilioDouble, opts: { authToken?: string; timeout?: number } = {}) {
  const client = twilio(tw.accountSid, opts.authToken ?? tw.authToken, {
    keepAlive: false,
    timeout: opts.timeout,
  });
  client.api.baseUrl = tw.url;
  return client;
}

async function failure(promise: Promise<unknown>): Promise<any> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

const to = "+15551234567";
const from = "+15550000000";

Deno.test("calls.create through twilio-node arrives as its form and returns a queued call resource", async () => {
  await using tw = startTwilioDouble();
  const call = await clientFor(tw).calls.create({
    to,
    from,
    url: "https://abc.supabase.co/functions/v1/twiml?call=c1",
    statusCallback: "https://abc.supabase.co/functions/v1/twilio-status?call=c1",
    statusCallbackEvent: ["initiated", "ringing", "answered", "completed"],
    statusCallbackMethod: "POST",
    machineDetection: "Enable",
    timeout: 30,
  });
  assert(/^CA[0-9a-f]{32}$/.test(call.sid), call.sid);
  assertEquals([call.status, call.to, call.from, call.direction], ["queued", to, from, "outbound-api"]);
  assertEquals([call.accountSid, call.apiVersion, call.startTime, call.toFormatted], [
    tw.accountSid,
    "2010-04-01",
    null,
    "(555) 123-4567",
  ]);
  assert(call.dateCreated instanceof Date && Math.abs(call.dateCreated.getTime() - Date.now()) < 5000);

  // The form exactly as twilio-node sent it: repeated StatusCallbackEvent, numbers as strings.
  assertEquals(tw.calls[0].params, {
    To: to,
    From: from,
    Url: "https://abc.supabase.co/functions/v1/twiml?call=c1",
    StatusCallback: "https://abc.supabase.co/functions/v1/twilio-status?call=c1",
    StatusCallbackEvent: ["initiated", "ringing", "answered", "completed"],
    StatusCallbackMethod: "POST",
    MachineDetection: "Enable",
    Timeout: "30",
  });
  const request = tw.requests[0];
  assertEquals([request.method, request.path, request.operation, request.status, request.authorized], [
    "POST",
    `/2010-04-01/Accounts/${tw.accountSid}/Calls.json`,
    "create",
    201,
    true,
  ]);
  assertEquals(request.headers.get("content-type"), "application/x-www-form-urlencoded");
  assertEquals(request.headers.get("authorization"), "Basic " + btoa(`${tw.accountSid}:${tw.authToken}`));
});

Deno.test("Twilio errors reach twilio-node as RestException with code, status and more_info", async () => {
  await using tw = startTwilioDouble({ fromNumbers: [from] });
  const client = clientFor(tw);
  const invalidTo = await failure(
    client.calls.create({ to: "555-CALL-NOW", from, url: "https://x.example/t" }),
  );
  assertEquals(
    [invalidTo.constructor.name, invalidTo.status, invalidTo.code, invalidTo.message, invalidTo.moreInfo],
    [
      "RestException",
      400,
      21211,
      "Invalid 'To' Phone Number: 555-CALL-NOW",
      "https://www.twilio.com/docs/errors/21211",
    ],
  );
  const noUrl = await failure(client.calls.create({ to, from }));
  assertEquals([noUrl.status, noUrl.code], [400, 21205]);
  const unverified = await failure(client.calls.create({ to, from: "+15559999999", twiml: "<Response/>" }));
  assertEquals([unverified.status, unverified.code], [400, 21210]);
  const wrongToken = await failure(
    clientFor(tw, { authToken: "wrong" }).calls.create({ to, from, url: "https://x" }),
  );
  assertEquals([wrongToken.status, wrongToken.code, wrongToken.message], [401, 20003, "Authenticate"]);
  assertEquals(tw.calls, []);

  // twilio-node insists on `to` client-side, so a missing 'To' is shown with the same request it would send.
  const res = await fetch(`${tw.url}/2010-04-01/Accounts/${tw.accountSid}/Calls.json`, {
    method: "POST",
    headers: {
      Authorization: "Basic " + btoa(`${tw.accountSid}:${tw.authToken}`),
      "Content-Type": "application/x-www-form-urlencoded",
      Accept: "application/json",
    },
    body: new URLSearchParams({ From: from, Url: "https://x.example/t" }).toString(),
  });
  assertEquals([res.status, await res.json()], [400, {
    code: 21201,
    message: "No 'To' number is specified",
    more_info: "https://www.twilio.com/docs/errors/21201",
    status: 400,
  }]);
});

Deno.test("fetch, hang up and cancel through twilio-node", async () => {
  await using tw = startTwilioDouble();
  const client = clientFor(tw);
  const answered = await client.calls.create({ to, from, twiml: "<Response><Pause/></Response>" });
  const ringing = await client.calls.create({ to: "+15557654321", from, url: "https://x.example/t" });
  tw.setStatus(answered.sid, "in-progress");
  tw.setStatus(ringing.sid, "ringing");

  assertEquals((await client.calls(answered.sid).fetch()).status, "in-progress");
  const hungUp = await client.calls(answered.sid).update({ status: "completed" });
  assertEquals(hungUp.status, "completed");
  assert(hungUp.endTime instanceof Date && hungUp.duration === "0");
  assertEquals(tw.call(answered.sid)?.updates, [{ Status: "completed" }]);
  // Hanging up an ended call is a no-op; redirecting it is refused.
  assertEquals((await client.calls(answered.sid).update({ status: "completed" })).status, "completed");
  const redirect = await failure(client.calls(answered.sid).update({ twiml: "<Response/>" }));
  assertEquals([redirect.status, redirect.code], [400, 21220]);

  assertEquals((await client.calls(ringing.sid).update({ status: "completed" })).status, "canceled");
  const missing = await failure(client.calls("CA" + "0".repeat(32)).fetch());
  assertEquals([missing.status, missing.code], [404, 20404]);
});

Deno.test("calls.list filters by To and StartTime, newest first, and pages like Twilio", async () => {
  await using tw = startTwilioDouble();
  const client = clientFor(tw);
  const before = new Date(Date.now() - 2000);
  const sids: string[] = [];
  for (const number of [to, "+15557654321", to]) {
    const call = await client.calls.create({ to: number, from, url: "https://x.example/t" });
    sids.push(call.sid);
  }
  // A queued call has no start_time, so StartTime filters leave it out until it is dialled.
  assertEquals(await client.calls.list({ to, startTimeAfter: before }), []);
  for (const sid of sids) tw.setStatus(sid, "ringing");

  const toMine = await client.calls.list({ to, startTimeAfter: before });
  assertEquals(toMine.map((c) => c.sid), [sids[2], sids[0]]);
  assertEquals(await client.calls.list({ startTimeAfter: new Date(Date.now() + 60_000) }), []);
  assertEquals((await client.calls.list({ startTimeBefore: new Date(Date.now() + 60_000) })).length, 3);
  const paged = await client.calls.list({ pageSize: 2 });
  assertEquals(paged.map((c) => c.sid), [...sids].reverse());
  assert(
    tw.requests.some((r) => r.params.Page === "1" && r.params.PageSize === "2"),
    "followed next_page_uri",
  );

  // A day filter, as Twilio's docs write it: StartTime>=YYYY-MM-DD.
  const today = new Date().toISOString().slice(0, 10);
  const res = await fetch(
    `${tw.url}/2010-04-01/Accounts/${tw.accountSid}/Calls.json?To=${
      encodeURIComponent(to)
    }&StartTime%3E=${today}`,
    { headers: { Authorization: "Basic " + btoa(`${tw.accountSid}:${tw.authToken}`) } },
  );
  const page = await res.json();
  assertEquals([page.calls.length, page.page, page.page_size, page.next_page_uri], [2, 0, 50, null]);
});

/** A webhook handler like the platform's: verifies with verifyTwilioRequest against its public URL. */
function startReceiver(authToken: string, publicBase: string) {
  const seen: Array<{ ok: boolean; params: Record<string, string>; idempotency: string | null }> = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const verdict = await verifyTwilioRequest(req, authToken, publicUrlWithRequestQuery(publicBase, req));
    seen.push({
      ok: verdict.ok,
      params: verdict.ok ? verdict.params : {},
      idempotency: req.headers.get("i-twilio-idempotency-token"),
    });
    return verdict.ok ? new Response(null, { status: 204 }) : new Response("forbidden", { status: 403 });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/twilio-status`,
    seen,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("status callbacks are signed like Twilio's and pass verifyTwilioRequest behind a gateway", async () => {
  await using tw = startTwilioDouble();
  const publicBase = "https://abc.supabase.co/functions/v1/twilio-status";
  await using receiver = startReceiver(tw.authToken, publicBase);
  const call = await clientFor(tw).calls.create({
    to,
    from,
    url: "https://x.example/t",
    statusCallback: publicBase + "?call=c1",
    statusCallbackEvent: ["initiated", "ringing", "answered", "completed"],
    machineDetection: "Enable",
  });
  const deliverTo = receiver.url + "?call=c1"; // the gateway forwards to the function, query intact

  for (const status of ["initiated", "ringing", "in-progress"] as const) {
    const sent = await tw.sendStatusCallback(call.sid, status, {}, { deliverTo });
    assertEquals(sent?.status, 204);
    // twilio-node agrees the signature is right for the public URL.
    assert(twilio.validateRequest(tw.authToken, sent!.signature!, sent!.url, sent!.params));
  }
  const completed = await tw.sendStatusCallback(call.sid, "completed", { CallDuration: "42" }, { deliverTo });
  assertEquals(completed?.status, 204);

  assertEquals(receiver.seen.map((s) => [s.ok, s.params.CallStatus, s.params.SequenceNumber]), [
    [true, "initiated", "0"],
    [true, "ringing", "1"],
    [true, "in-progress", "2"],
    [true, "completed", "3"],
  ]);
  const last = receiver.seen[3].params;
  assertEquals(
    [last.CallSid, last.AccountSid, last.To, last.From, last.CallDuration, last.Duration, last.AnsweredBy],
    [call.sid, tw.accountSid, to, from, "42", "1", "human"],
  );
  assertEquals([last.Direction, last.ApiVersion, last.SipResponseCode], [
    "outbound-api",
    "2010-04-01",
    "200",
  ]);
  assert(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/.test(last.Timestamp), last.Timestamp);
  assert(receiver.seen.every((s) => s.idempotency !== null));

  const state = tw.call(call.sid)!;
  assertEquals([state.status, state.duration, state.answeredBy], ["completed", 42, "human"]);
  assert(state.startTime && state.endTime);
  assertEquals((await clientFor(tw).calls(call.sid).fetch()).duration, "42");
});

Deno.test("unsubscribed events are not sent, forged callbacks are refused, GET callbacks sign the URL", async () => {
  await using tw = startTwilioDouble();
  const publicBase = "https://abc.supabase.co/functions/v1/twilio-status";
  await using receiver = startReceiver(tw.authToken, publicBase);
  const client = clientFor(tw);
  // Twilio's default subscription is "completed" only.
  const call = await client.calls.create({
    to,
    from,
    url: "https://x.example/t",
    statusCallback: publicBase,
  });
  assertEquals(await tw.sendStatusCallback(call.sid, "ringing", {}, { deliverTo: receiver.url }), null);
  assertEquals(tw.call(call.sid)?.status, "ringing");

  const forged = await tw.sendStatusCallback(call.sid, "busy", {}, {
    deliverTo: receiver.url,
    authToken: "guess",
  });
  assertEquals(forged?.status, 403);
  const unsigned = await tw.sendStatusCallback(call.sid, "busy", {}, {
    deliverTo: receiver.url,
    signature: null,
    force: true,
  });
  assertEquals(unsigned?.status, 403);
  const genuine = await tw.sendStatusCallback(call.sid, "busy", {}, { deliverTo: receiver.url });
  assertEquals(genuine?.status, 204);
  assertEquals(receiver.seen.map((s) => s.ok), [false, false, true]);
  assertEquals(receiver.seen[2].params.SipResponseCode, "486");

  // StatusCallbackMethod=GET: the parameters ride in the query and the signature covers the URL alone.
  const viaGet = await client.calls.create({
    to,
    from,
    url: "https://x.example/t",
    statusCallback: publicBase + "?call=c2",
    statusCallbackMethod: "GET",
  });
  await using getReceiver = (() => {
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () => new Response("ok"),
    );
    return { port: server.addr.port, [Symbol.asyncDispose]: () => server.shutdown() };
  })();
  const sent = await tw.sendStatusCallback(viaGet.sid, "no-answer", {}, {
    deliverTo: `http://127.0.0.1:${getReceiver.port}/twilio-status?call=c2`,
  });
  assertEquals(sent?.method, "GET");
  assert(sent!.url.startsWith(publicBase + "?call=c2&AccountSid="));
  assert(twilio.validateRequest(tw.authToken, sent!.signature!, sent!.url, {}));
});

Deno.test("scripted failures: a 429, a 503 page, and a hang the client times out on", async () => {
  await using tw = startTwilioDouble();
  tw.failNext("create", { kind: "error", status: 429, code: 20429, message: "Too Many Requests" });
  tw.failNext("create", {
    kind: "http",
    status: 503,
    body: "<html>unavailable</html>",
    contentType: "text/html",
  });
  const client = clientFor(tw);
  const limited = await failure(client.calls.create({ to, from, url: "https://x.example/t" }));
  assertEquals([limited.status, limited.code], [429, 20429]);
  const down = await failure(client.calls.create({ to, from, url: "https://x.example/t" }));
  assertEquals(down.status, 503);
  assertEquals((await client.calls.create({ to, from, url: "https://x.example/t" })).status, "queued");

  tw.failNext("create", { kind: "hang" });
  const started = performance.now();
  const timedOut = await failure(
    clientFor(tw, { timeout: 300 }).calls.create({ to, from, url: "https://x.example/t" }),
  );
  const elapsed = performance.now() - started;
  assert(/timeout/i.test(String(timedOut.message)), String(timedOut.message));
  assert(elapsed >= 250 && elapsed < 5000, `timed out after ${elapsed} ms`);
  assertEquals(tw.calls.length, 1);

  tw.setLatency(150, "fetch");
  const sid = tw.calls[0].sid;
  const t0 = performance.now();
  await client.calls(sid).fetch();
  assert(performance.now() - t0 >= 140);
});
