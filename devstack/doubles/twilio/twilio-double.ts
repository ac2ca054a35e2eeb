// A loopback double of the slice of Twilio's REST API that outbound calling uses, plus Twilio's side of the
// status-callback webhook:
//
//   POST /2010-04-01/Accounts/{AccountSid}/Calls.json        create (form-encoded, as twilio-node sends it)
//   GET  /2010-04-01/Accounts/{AccountSid}/Calls.json        list, filtered by To/From/Status/StartTime...
//   GET  /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json  fetch
//   POST /2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json  update (Status=completed|canceled, Url, Twiml)
//
// Requests authenticate with HTTP Basic `AccountSid:AuthToken`. Errors are Twilio's JSON
// `{ code, message, more_info, status }` with the HTTP status, e.g. 20003 "Authenticate" (401), 21201/21211
// (400) for a missing/invalid 'To', 21205 "Url parameter is required" (400), 20404 (404), 21220 (400).
// `sendStatusCallback` POSTs a status callback signed with the auth token (X-Twilio-Signature) to the
// StatusCallback URL the call was created with, so webhook handlers can be driven end to end.

import {
  signTwilioRequest,
  type TwilioParams,
} from "../../../supabase/functions/_shared/twilio-signature.ts";
import { ScriptedFaults, serveOnLoopback, sleep } from "../../loopback.ts";

export type TwilioCallStatus =
  | "queued"
  | "initiated"
  | "ringing"
  | "in-progress"
  | "completed"
  | "busy"
  | "no-answer"
  | "canceled"
  | "failed";

const terminal = new Set<TwilioCallStatus>(["completed", "busy", "no-answer", "canceled", "failed"]);
const allStatuses = new Set<string>([
  "queued",
  "initiated",
  "ringing",
  "in-progress",
  "completed",
  "busy",
  "no-answer",
  "canceled",
  "failed",
]);

export type TwilioCallbackRecord = {
  /** The URL signed (the StatusCallback, plus the query for GET). */
  url: string;
  /** The URL actually requested. */
  deliveredTo: string;
  method: "POST" | "GET";
  params: Record<string, string>;
  signature: string | null;
  /** The webhook's answer. */
  status: number;
  body: string;
};

export type TwilioCall = {
  sid: string;
  accountSid: string;
  to: string;
  from: string;
  status: TwilioCallStatus;
  direction: "outbound-api";
  url: string | null;
  method: string;
  twiml: string | null;
  applicationSid: string | null;
  statusCallback: string | null;
  statusCallbackMethod: "POST" | "GET";
  /** Subscribed events; Twilio's default is only "completed". */
  statusCallbackEvent: string[];
  machineDetection: string | null;
  timeout: number;
  answeredBy: string | null;
  dateCreated: Date;
  dateUpdated: Date;
  startTime: Date | null;
  answeredAt: Date | null;
  endTime: Date | null;
  duration: number | null;
  /** The create request's form, as received (repeated keys as arrays). */
  params: TwilioParams;
  /** Every update request's form. */
  updates: Array<Record<string, string>>;
  callbacks: TwilioCallbackRecord[];
  nextSequenceNumber: number;
};

export type TwilioOperation = "create" | "list" | "fetch" | "update";

export type TwilioFailure =
  /** A Twilio REST error: JSON `{ code, message, more_info, status }`. */
  | { kind: "error"; status: number; code: number; message: string }
  /** A raw HTTP answer, e.g. a 503 page from a proxy. */
  | { kind: "http"; status: number; body?: string; contentType?: string }
  /** Never answers: the client's timeout (or close()) ends it. */
  | { kind: "hang" };

export type TwilioRequestRecord = {
  method: string;
  path: string;
  operation: TwilioOperation | null;
  /** The form (POST) or query (GET) parameters. */
  params: TwilioParams;
  authorized: boolean;
  headers: Headers;
  receivedAt: number;
  status?: number;
};

export type StatusCallbackOptions = {
  force?: boolean;
  deliverTo?: string;
  authToken?: string;
  signature?: string | null;
};

export type TwilioDouble = {
  /** http://127.0.0.1:<port>; the base URL in place of https://api.twilio.com. */
  url: string;
  accountSid: string;
  authToken: string;
  /** Calls in creation order. */
  calls: TwilioCall[];
  call(sid: string): TwilioCall | undefined;
  requests: TwilioRequestRecord[];
  failNext(operation: TwilioOperation, failure: TwilioFailure, times?: number): void;
  setLatency(ms: number, operation?: TwilioOperation): void;
  /** Moves a call to `status` as Twilio would (start/end times, duration, answered_by), without a callback. */
  setStatus(callSid: string, status: TwilioCallStatus, extra?: Record<string, string>): TwilioCall;
  /**
   * Moves the call to `status` and sends the status callback Twilio would: the form of Twilio's call-progress
   * events (CallSid, CallStatus, SequenceNumber, Timestamp, CallDuration, AnsweredBy...), `extra` merged over
   * it, signed with the auth token, to the call's StatusCallback with its StatusCallbackMethod. Returns null,
   * sending nothing, when the call did not subscribe to the event (Twilio's default is "completed" only)
   * unless `force`. `deliverTo` sends it elsewhere (e.g. to the local handler) while the signature still
   * covers the StatusCallback URL, as when a gateway sits in front; `authToken`/`signature` (null: no header)
   * override the signing, to forge a callback.
   */
  sendStatusCallback(
    callSid: string,
    status: TwilioCallStatus,
    extra?: Record<string, string>,
    opts?: StatusCallbackOptions,
  ): Promise<TwilioCallbackRecord | null>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
};

const apiVersion = "2010-04-01";

function hex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0"))
    .join("");
}

/** RFC 2822, as Twilio writes dates: "Tue, 31 Aug 2010 20:36:28 +0000". */
export function rfc2822(date: Date): string {
  return date.toUTCString().replace(/GMT$/, "+0000");
}

function formatted(number: string): string {
  const us = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(number);
  return us ? `(${us[1]}) ${us[2]}-${us[3]}` : number;
}

function twilioError(status: number, code: number, message: string): Response {
  return new Response(
    JSON.stringify({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }),
    { status, headers: { "Content-Type": "application/json" } },
  );
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

function collect(pairs: URLSearchParams): TwilioParams {
  const out: TwilioParams = {};
  for (const [key, value] of pairs) {
    const current = out[key];
    if (current === undefined) out[key] = value;
    else if (Array.isArray(current)) current.push(value);
    else out[key] = [current, value];
  }
  return out;
}

function first(params: TwilioParams, key: string): string | undefined {
  const value = params[key];
  return Array.isArray(value) ? value[0] : value;
}

function all(params: TwilioParams, key: string): string[] {
  const value = params[key];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** A StartTime/EndTime filter value: a day (YYYY-MM-DD, UTC) or an instant. */
function timeRange(value: string): { from: number; to: number } | null {
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    const from = Date.parse(value + "T00:00:00Z");
    return { from, to: from + 86_400_000 - 1 };
  }
  const at = Date.parse(value);
  if (Number.isNaN(at)) return null;
  const second = Math.floor(at / 1000) * 1000;
  return { from: second, to: second + 999 };
}

const validTo = /^(\+[1-9]\d{1,14}|sip:.+|client:.+)$/;

export function startTwilioDouble(
  opts: { accountSid?: string; authToken?: string; fromNumbers?: string[]; latencyMs?: number } = {},
): TwilioDouble {
  const accountSid = opts.accountSid ?? "AC" + hex(16);
  const authToken = opts.authToken ?? hex(16);
  const calls: TwilioCall[] = [];
  const bySid = new Map<string, TwilioCall>();
  const requests: TwilioRequestRecord[] = [];
  const faults = new ScriptedFaults<TwilioOperation, TwilioFailure>(opts.latencyMs);
  // `serve` is a hoisted function declaration below.
  const loopback = serveOnLoopback(serve);
  const base = `/${apiVersion}/Accounts/${accountSid}`;

  function callJson(call: TwilioCall) {
    const uri = `${base}/Calls/${call.sid}.json`;
    return {
      sid: call.sid,
      account_sid: call.accountSid,
      annotation: null,
      answered_by: call.answeredBy,
      api_version: apiVersion,
      caller_name: null,
      date_created: rfc2822(call.dateCreated),
      date_updated: rfc2822(call.dateUpdated),
      direction: call.direction,
      duration: call.duration === null ? null : String(call.duration),
      end_time: call.endTime ? rfc2822(call.endTime) : null,
      forwarded_from: null,
      from: call.from,
      from_formatted: formatted(call.from),
      group_sid: null,
      parent_call_sid: null,
      phone_number_sid: null,
      price: null,
      price_unit: "USD",
      queue_time: "0",
      start_time: call.startTime ? rfc2822(call.startTime) : null,
      status: call.status,
      subresource_uris: {
        notifications: `${base}/Calls/${call.sid}/Notifications.json`,
        recordings: `${base}/Calls/${call.sid}/Recordings.json`,
        events: `${base}/Calls/${call.sid}/Events.json`,
      },
      to: call.to,
      to_formatted: formatted(call.to),
      trunk_sid: null,
      uri,
    };
  }

  function authorized(req: Request, pathAccount: string): boolean {
    const match = /^Basic\s+(.+)$/i.exec(req.headers.get("authorization") ?? "");
    if (!match) return false;
    let decoded: string;
    try {
      decoded = atob(match[1]);
    } catch {
      return false;
    }
    const colon = decoded.indexOf(":");
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    return colon > 0 && user === accountSid && password === authToken && pathAccount === accountSid;
  }

  function setStatus(
    callSid: string,
    status: TwilioCallStatus,
    extra: Record<string, string> = {},
  ): TwilioCall {
    const call = bySid.get(callSid);
    if (!call) throw new Error(`no call ${callSid}`);
    const now = new Date();
    if (!call.startTime && status !== "queued" && status !== "canceled" && status !== "failed") {
      call.startTime = now;
    }
    if (status === "in-progress" && !call.answeredAt) call.answeredAt = now;
    if (call.machineDetection && (status === "in-progress" || status === "completed")) {
      call.answeredBy = extra.AnsweredBy ?? call.answeredBy ?? "human";
    }
    if (terminal.has(status)) {
      call.endTime = now;
      call.duration = extra.CallDuration !== undefined
        ? Number(extra.CallDuration)
        : status === "completed" && call.answeredAt
        ? Math.round((now.getTime() - call.answeredAt.getTime()) / 1000)
        : 0;
    }
    call.status = status;
    call.dateUpdated = now;
    return call;
  }

  function create(params: TwilioParams): Response {
    const to = first(params, "To");
    const from = first(params, "From");
    if (!to) return twilioError(400, 21201, "No 'To' number is specified");
    if (!from) return twilioError(400, 21213, "No 'From' number is specified");
    const url = first(params, "Url");
    const twiml = first(params, "Twiml");
    const applicationSid = first(params, "ApplicationSid");
    if (!url && !twiml && !applicationSid) {
      return twilioError(
        400,
        21205,
        "Url parameter is required. For more information, see http://www.twilio.com/docs/api/twiml",
      );
    }
    if (!validTo.test(to)) return twilioError(400, 21211, `Invalid 'To' Phone Number: ${to}`);
    if (opts.fromNumbers && !opts.fromNumbers.includes(from)) {
      return twilioError(
        400,
        21210,
        `The source phone number provided, ${from}, is not yet verified for your account. ` +
          "You may only make calls from phone numbers that you've verified or purchased from Twilio.",
      );
    }
    const events = all(params, "StatusCallbackEvent").flatMap((e) => e.split(/\s+/)).filter(Boolean);
    const now = new Date();
    const call: TwilioCall = {
      sid: "CA" + hex(16),
      accountSid,
      to,
      from,
      status: "queued",
      direction: "outbound-api",
      url: url ?? null,
      method: first(params, "Method") ?? "POST",
      twiml: twiml ?? null,
      applicationSid: applicationSid ?? null,
      statusCallback: first(params, "StatusCallback") ?? null,
      statusCallbackMethod: first(params, "StatusCallbackMethod")?.toUpperCase() === "GET" ? "GET" : "POST",
      statusCallbackEvent: events.length ? events : ["completed"],
      machineDetection: first(params, "MachineDetection") ?? null,
      timeout: Number(first(params, "Timeout") ?? 60),
      answeredBy: null,
      dateCreated: now,
      dateUpdated: now,
      startTime: null,
      answeredAt: null,
      endTime: null,
      duration: null,
      params,
      updates: [],
      callbacks: [],
      nextSequenceNumber: 0,
    };
    calls.push(call);
    bySid.set(call.sid, call);
    return json(callJson(call), 201);
  }

  function update(call: TwilioCall, params: TwilioParams): Response {
    const form: Record<string, string> = {};
    for (const key of Object.keys(params)) form[key] = first(params, key)!;
    const status = form.Status;
    if (status !== undefined && status !== "completed" && status !== "canceled") {
      return twilioError(400, 20001, `Invalid Status value: ${status}`);
    }
    if ((form.Url !== undefined || form.Twiml !== undefined) && terminal.has(call.status)) {
      return twilioError(400, 21220, "Call is not in-progress. Cannot redirect.");
    }
    call.updates.push(form);
    if (form.Url !== undefined) call.url = form.Url;
    if (form.Twiml !== undefined) call.twiml = form.Twiml;
    if (form.StatusCallback !== undefined) call.statusCallback = form.StatusCallback;
    const ringingOrQueued = call.status === "queued" || call.status === "initiated" ||
      call.status === "ringing";
    // Status=completed hangs up whatever the state (a call not yet answered ends canceled); Status=canceled
    // only ends a call that is not yet answered. On an ended call either is a no-op.
    if (status === "completed" && call.status === "in-progress") setStatus(call.sid, "completed");
    else if (status !== undefined && ringingOrQueued) setStatus(call.sid, "canceled");
    call.dateUpdated = new Date();
    return json(callJson(call));
  }

  function list(params: TwilioParams): Response {
    const get = (key: string) => first(params, key);
    let matched = [...calls].reverse(); // most recent first
    for (const key of ["To", "From", "Status"] as const) {
      const value = get(key);
      if (value !== undefined) {
        matched = matched.filter((c) => ({ To: c.to, From: c.from, Status: c.status })[key] === value);
      }
    }
    if (get("ParentCallSid") !== undefined) matched = [];
    // StartTime=D (that day or that second), StartTime>=D (on or after), StartTime<=D (on or before); the same
    // for EndTime. Form-encoded, the keys are "StartTime", "StartTime>" and "StartTime<".
    type Range = { from: number; to: number };
    const tests: Record<string, (t: number, r: Range) => boolean> = {
      "": (t, r) => t >= r.from && t <= r.to,
      ">": (t, r) => t >= r.from,
      "<": (t, r) => t <= r.to,
    };
    const times: Record<string, (c: TwilioCall) => Date | null> = {
      StartTime: (c) => c.startTime,
      EndTime: (c) => c.endTime,
    };
    for (const [name, timeOf] of Object.entries(times)) {
      for (const [suffix, test] of Object.entries(tests)) {
        const value = get(name + suffix);
        if (value === undefined) continue;
        const range = timeRange(value);
        if (!range) return twilioError(400, 20001, `Invalid ${name}${suffix} value: ${value}`);
        matched = matched.filter((c) => {
          const t = timeOf(c);
          return t !== null && test(t.getTime(), range);
        });
      }
    }
    const pageSize = Math.min(Math.max(Number(get("PageSize") ?? 50) || 50, 1), 1000);
    const page = Math.max(Number(get("Page") ?? 0) || 0, 0);
    const start = page * pageSize;
    const slice = matched.slice(start, start + pageSize);
    const filters = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) {
      if (key === "Page" || key === "PageSize" || key === "PageToken") continue;
      for (const v of Array.isArray(value) ? value : [value]) filters.append(key, v);
    }
    const pageUri = (p: number) => {
      const q = new URLSearchParams(filters);
      q.set("PageSize", String(pageSize));
      q.set("Page", String(p));
      return `${base}/Calls.json?${q}`;
    };
    return json({
      calls: slice.map(callJson),
      end: start + Math.max(slice.length - 1, 0),
      first_page_uri: pageUri(0),
      next_page_uri: start + pageSize < matched.length ? pageUri(page + 1) : null,
      page,
      page_size: pageSize,
      previous_page_uri: page > 0 ? pageUri(page - 1) : null,
      start,
      uri: pageUri(page),
    });
  }

  async function serve(req: Request): Promise<Response> {
    const url = new URL(req.url);
    const record: TwilioRequestRecord = {
      method: req.method,
      path: url.pathname,
      operation: null,
      params: {},
      authorized: false,
      headers: req.headers,
      receivedAt: Date.now(),
    };
    requests.push(record);
    const answer = (res: Response) => {
      record.status = res.status;
      return res;
    };

    const collection = /^\/2010-04-01\/Accounts\/([^/]+)\/Calls\.json$/.exec(url.pathname);
    const instance = /^\/2010-04-01\/Accounts\/([^/]+)\/Calls\/([^/]+)\.json$/.exec(url.pathname);
    const pathAccount = (collection ?? instance)?.[1] ?? "";
    if (collection) {
      record.operation = req.method === "POST" ? "create" : req.method === "GET" ? "list" : null;
    }
    if (instance) record.operation = req.method === "POST" ? "update" : req.method === "GET" ? "fetch" : null;
    record.params = req.method === "POST"
      ? collect(new URLSearchParams(await req.text()))
      : collect(url.searchParams);

    await sleep(faults.latencyFor(record.operation), loopback.closing);

    record.authorized = authorized(req, pathAccount);
    if (!record.authorized) {
      const res = twilioError(401, 20003, "Authenticate");
      res.headers.set("WWW-Authenticate", 'Basic realm="Twilio API"');
      return answer(res);
    }
    if (!collection && !instance) {
      return answer(twilioError(404, 20404, `The requested resource ${url.pathname} was not found`));
    }
    if (!record.operation) return answer(twilioError(405, 20004, "Method not allowed"));

    const failure = faults.take(record.operation);
    if (failure) {
      switch (failure.kind) {
        case "hang": {
          const ended = AbortSignal.any([req.signal, loopback.closing]);
          await new Promise<void>((resolve) => {
            if (ended.aborted) resolve();
            else ended.addEventListener("abort", () => resolve(), { once: true });
          });
          return new Response(null, { status: 503 });
        }
        case "http":
          return answer(
            new Response(failure.body ?? "", {
              status: failure.status,
              headers: { "Content-Type": failure.contentType ?? "text/plain; charset=utf-8" },
            }),
          );
        case "error":
          return answer(twilioError(failure.status, failure.code, failure.message));
      }
    }

    switch (record.operation) {
      case "create":
        return answer(create(record.params));
      case "list":
        return answer(list(record.params));
      case "fetch":
      case "update": {
        const call = bySid.get(instance![2]);
        if (!call) {
          return answer(twilioError(404, 20404, `The requested resource ${url.pathname} was not found`));
        }
        return answer(record.operation === "fetch" ? json(callJson(call)) : update(call, record.params));
      }
    }
  }

  async function sendStatusCallback(
    callSid: string,
    status: TwilioCallStatus,
    extra: Record<string, string> = {},
    cbOpts: StatusCallbackOptions = {},
  ): Promise<TwilioCallbackRecord | null> {
    const call = bySid.get(callSid);
    if (!call) throw new Error(`no call ${callSid}`);
    if (!call.statusCallback) throw new Error(`call ${callSid} has no StatusCallback`);
    if (!allStatuses.has(status)) throw new Error(`not a call status: ${status}`);
    const event = terminal.has(status) ? "completed" : status === "in-progress" ? "answered" : status;
    setStatus(callSid, status, extra);
    if (!cbOpts.force && !call.statusCallbackEvent.includes(event)) return null;

    const params: Record<string, string> = {
      AccountSid: call.accountSid,
      ApiVersion: apiVersion,
      CallSid: call.sid,
      CallStatus: status,
      Called: call.to,
      Caller: call.from,
      Direction: call.direction,
      From: call.from,
      To: call.to,
      CallbackSource: "call-progress-events",
      SequenceNumber: String(call.nextSequenceNumber++),
      Timestamp: rfc2822(new Date()),
    };
    if (terminal.has(status)) {
      params.CallDuration = String(call.duration ?? 0);
      params.Duration = String(Math.ceil((call.duration ?? 0) / 60));
      params.SipResponseCode =
        { completed: "200", busy: "486", "no-answer": "487", canceled: "487", failed: "500" }[
          status as "completed"
        ];
    }
    if (call.answeredBy) params.AnsweredBy = call.answeredBy;
    Object.assign(params, extra);

    const method = call.statusCallbackMethod;
    const withQuery = (u: string) =>
      method === "GET" ? u + (u.includes("?") ? "&" : "?") + new URLSearchParams(params).toString() : u;
    const signedUrl = withQuery(call.statusCallback);
    const deliveredTo = cbOpts.deliverTo ? withQuery(cbOpts.deliverTo) : signedUrl;
    const signature = cbOpts.signature !== undefined
      ? cbOpts.signature
      : await signTwilioRequest(cbOpts.authToken ?? authToken, signedUrl, method === "GET" ? {} : params);
    const headers = new Headers({
      "User-Agent": "TwilioProxy/1.1",
      "I-Twilio-Idempotency-Token": crypto.randomUUID(),
    });
    if (signature !== null) headers.set("X-Twilio-Signature", signature);
    if (method === "POST") headers.set("Content-Type", "application/x-www-form-urlencoded");
    const res = await fetch(deliveredTo, {
      method,
      headers,
      body: method === "POST" ? new URLSearchParams(params).toString() : undefined,
    });
    const record: TwilioCallbackRecord = {
      url: signedUrl,
      deliveredTo,
      method,
      params,
      signature,
      status: res.status,
      body: await res.text(),
    };
    call.callbacks.push(record);
    return record;
  }

  const close = () => loopback.close();

  return {
    url: loopback.url,
    accountSid,
    authToken,
    calls,
    call: (sid) => bySid.get(sid),
    requests,
    failNext(operation, failure, times = 1) {
      faults.failNext(operation, failure, times);
    },
    setLatency(ms, operation) {
      faults.setLatency(ms, operation);
    },
    setStatus,
    sendStatusCallback,
    close,
    [Symbol.asyncDispose]: close,
  };
}
