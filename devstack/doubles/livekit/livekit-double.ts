// A loopback double of LiveKit's server API, speaking Twirp as livekit-server-sdk 2.19 calls it:
// `POST /twirp/livekit.<Service>/<Method>` with a JSON body (protobuf-es `toJson`, camelCase field names) and
// `Authorization: Bearer <JWT>` signed HS256 with the API secret, `iss` = the API key.
//
// Authorisation follows livekit-server (pkg/service/auth.go and the services):
//   - a malformed header, an undecodable token, an unknown API key or a bad signature/expiry: HTTP 401 with a
//     plain-text body (the auth middleware, before Twirp);
//   - a valid token lacking the method's grant: Twirp `unauthenticated` "permissions denied", HTTP 401 (LiveKit
//     wraps every permission failure as Unauthenticated, so it never answers 403 for grants).
// Errors are Twirp errors: `Content-Type: application/json` (exactly: the SDK compares it verbatim) and
// `{ code, msg, meta }` with the HTTP status Twirp maps the code to. A failed SIP dial carries
// `meta: { sip_status_code, sip_status }` and the code livekit/protocol maps the SIP status to (486 Busy Here ->
// `resource_exhausted`, HTTP 429); the SDK turns that into a `SipCallError` with `sipStatusCode`.
// Responses use protobuf field names (snake_case) as Twirp's JSON does; the SDK's `fromJson` reads both.

import { decodeJwt, jwtVerify } from "jose";
import { ScriptedFaults, serveOnLoopback, sleep } from "../../loopback.ts";

export type TwirpCode =
  | "canceled"
  | "unknown"
  | "invalid_argument"
  | "malformed"
  | "deadline_exceeded"
  | "not_found"
  | "bad_route"
  | "already_exists"
  | "permission_denied"
  | "unauthenticated"
  | "resource_exhausted"
  | "failed_precondition"
  | "aborted"
  | "out_of_range"
  | "unimplemented"
  | "internal"
  | "unavailable"
  | "data_loss";

/** Twirp's code -> HTTP status table (twitchtv/twirp, errors.go ServerHTTPStatusFromErrorCode). */
export const twirpHttpStatus: Record<TwirpCode, number> = {
  canceled: 408,
  unknown: 500,
  invalid_argument: 400,
  malformed: 400,
  deadline_exceeded: 408,
  not_found: 404,
  bad_route: 404,
  already_exists: 409,
  permission_denied: 403,
  unauthenticated: 401,
  resource_exhausted: 429,
  failed_precondition: 412,
  aborted: 409,
  out_of_range: 400,
  unimplemented: 501,
  internal: 500,
  unavailable: 503,
  data_loss: 500,
};

/** Reason phrases for the SIP statuses a dial commonly ends with. */
export const sipReasonPhrases: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  408: "Request Timeout",
  480: "Temporarily Unavailable",
  484: "Address Incomplete",
  486: "Busy Here",
  487: "Request Terminated",
  488: "Not Acceptable Here",
  500: "Server Internal Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Server Time-out",
  600: "Busy Everywhere",
  603: "Decline",
  604: "Does Not Exist Anywhere",
};

/** livekit/protocol's SIP status -> gRPC/Twirp code mapping (livekit/sip.go, sipCodeToGRPCCode). */
export function twirpCodeForSipStatus(sipStatusCode: number): TwirpCode {
  const table: Record<number, TwirpCode> = {
    300: "invalid_argument",
    301: "not_found",
    302: "not_found",
    305: "invalid_argument",
    380: "invalid_argument",
    400: "invalid_argument",
    401: "permission_denied",
    402: "permission_denied",
    403: "permission_denied",
    404: "not_found",
    405: "invalid_argument",
    406: "invalid_argument",
    407: "unauthenticated",
    408: "deadline_exceeded",
    409: "failed_precondition",
    410: "not_found",
    480: "resource_exhausted",
    481: "not_found",
    482: "failed_precondition",
    483: "failed_precondition",
    484: "invalid_argument",
    485: "invalid_argument",
    486: "resource_exhausted",
    487: "aborted",
    488: "invalid_argument",
    491: "aborted",
    500: "failed_precondition",
    501: "failed_precondition",
    502: "failed_precondition",
    503: "failed_precondition",
    504: "deadline_exceeded",
    600: "resource_exhausted",
    603: "permission_denied",
    604: "not_found",
    606: "invalid_argument",
    607: "permission_denied",
    608: "permission_denied",
  };
  return table[sipStatusCode] ?? "invalid_argument"; // what livekit/protocol's fallback yields in practice
}

export type LiveKitMethod =
  | "CreateRoom"
  | "ListRooms"
  | "DeleteRoom"
  | "UpdateRoomMetadata"
  | "ListParticipants"
  | "GetParticipant"
  | "RemoveParticipant"
  | "CreateDispatch"
  | "DeleteDispatch"
  | "ListDispatch"
  | "CreateSIPParticipant"
  | "TransferSIPParticipant";

const services: Record<LiveKitMethod, string> = {
  CreateRoom: "RoomService",
  ListRooms: "RoomService",
  DeleteRoom: "RoomService",
  UpdateRoomMetadata: "RoomService",
  ListParticipants: "RoomService",
  GetParticipant: "RoomService",
  RemoveParticipant: "RoomService",
  CreateDispatch: "AgentDispatchService",
  DeleteDispatch: "AgentDispatchService",
  ListDispatch: "AgentDispatchService",
  CreateSIPParticipant: "SIP",
  TransferSIPParticipant: "SIP",
};

/** The claims of a LiveKit access token, as far as the double reads them. */
export type LiveKitClaims = {
  iss?: string;
  sub?: string;
  exp?: number;
  nbf?: number;
  video?: {
    roomCreate?: boolean;
    roomList?: boolean;
    roomAdmin?: boolean;
    room?: string;
    destinationRoom?: string;
    [grant: string]: unknown;
  };
  sip?: { admin?: boolean; call?: boolean };
  [claim: string]: unknown;
};

type Body = Record<string, unknown>;

/** Reads a request field by its JSON (camelCase) or protobuf (snake_case) name, as Twirp accepts both. */
function field(body: Body, jsonName: string): string {
  const protoName = jsonName.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
  const value = body[jsonName] ?? body[protoName];
  return typeof value === "string" ? value : "";
}

function isAdminOf(claims: LiveKitClaims | null, room: string): boolean {
  return claims?.video?.roomAdmin === true && (claims.video.room ?? "") === room;
}

/** The grant each method needs, per livekit-server's Ensure*Permission calls. */
const permitted: Record<LiveKitMethod, (claims: LiveKitClaims | null, body: Body) => boolean> = {
  CreateRoom: (c) => c?.video?.roomCreate === true, // EnsureCreatePermission
  ListRooms: (c) => c?.video?.roomList === true, // EnsureListPermission
  DeleteRoom: (c) => c?.video?.roomCreate === true, // EnsureCreatePermission
  UpdateRoomMetadata: (c, b) => isAdminOf(c, field(b, "room")), // EnsureAdminPermission(room)
  ListParticipants: (c, b) => isAdminOf(c, field(b, "room")),
  GetParticipant: (c, b) => isAdminOf(c, field(b, "room")),
  RemoveParticipant: (c, b) => isAdminOf(c, field(b, "room")),
  CreateDispatch: (c, b) => isAdminOf(c, field(b, "room")),
  DeleteDispatch: (c, b) => isAdminOf(c, field(b, "room")),
  ListDispatch: (c, b) => isAdminOf(c, field(b, "room")),
  CreateSIPParticipant: (c) => c?.sip?.call === true, // EnsureSIPCallPermission
  TransferSIPParticipant: (c, b) => c?.sip?.call === true && isAdminOf(c, field(b, "roomName")),
};

export type LiveKitFailure =
  /** The dial ends with a SIP final response; `code` defaults to livekit/protocol's mapping. */
  | { kind: "sip"; sipStatusCode: number; sipStatus?: string; code?: TwirpCode; msg?: string }
  /** Any Twirp error; `status` defaults to Twirp's mapping of `code`. */
  | { kind: "twirp"; code: TwirpCode; msg?: string; meta?: Record<string, string>; status?: number }
  /** A raw HTTP answer, e.g. a 502 from a proxy with an HTML body. */
  | { kind: "http"; status: number; body?: string; contentType?: string }
  /** Never answers: the client's timeout (or close()) ends it. */
  | { kind: "hang" };

export type LiveKitRequestRecord = {
  service: string;
  method: string;
  path: string;
  body: Body | null;
  /** Verified token claims; null when the token was absent or refused. */
  claims: LiveKitClaims | null;
  headers: Headers;
  receivedAt: number;
  /** The status answered, once answered (undefined while pending or for a hang). */
  status?: number;
};

export type LiveKitRoom = {
  sid: string;
  name: string;
  metadata: string;
  emptyTimeout: number;
  departureTimeout: number;
  maxParticipants: number;
  creationTime: number;
};

export type LiveKitParticipant = {
  sid: string;
  identity: string;
  name: string;
  metadata: string;
  kind: "STANDARD" | "INGRESS" | "EGRESS" | "SIP" | "AGENT";
  state: "JOINING" | "JOINED" | "ACTIVE" | "DISCONNECTED";
  attributes: Record<string, string>;
  joinedAt: number;
};

export type LiveKitDispatch = {
  id: string;
  agentName: string;
  room: string;
  metadata: string;
  createdAt: number;
};

export type LiveKitDouble = {
  /** http://127.0.0.1:<port>; pass it as the host of the SDK's clients. */
  url: string;
  apiKey: string;
  apiSecret: string;
  /** Every request received, in order, including refused ones. */
  requests: LiveKitRequestRecord[];
  rooms: Map<string, LiveKitRoom>;
  dispatches: Map<string, LiveKitDispatch>;
  participants(room: string): LiveKitParticipant[];
  /** Puts a participant in a room (creating the room), e.g. the agent joining after a dispatch. */
  addParticipant(
    room: string,
    participant: Partial<LiveKitParticipant> & { identity: string },
  ): LiveKitParticipant;
  /** The next `times` calls of `method` (after authorisation) fail as scripted. */
  failNext(method: LiveKitMethod, failure: LiveKitFailure, times?: number): void;
  /** Delays every answer (or only `method`'s) by `ms`. */
  setLatency(ms: number, method?: LiveKitMethod): void;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
};

function randomId(prefix: string): string {
  const alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return prefix + Array.from(bytes, (b) => alphabet[b % alphabet.length]).join("");
}

function twirpError(code: TwirpCode, msg: string, meta?: Record<string, string>, status?: number): Response {
  return new Response(JSON.stringify({ code, msg, ...(meta ? { meta } : {}) }), {
    status: status ?? twirpHttpStatus[code],
    headers: { "Content-Type": "application/json" },
  });
}

function ok(body: unknown): Response {
  return new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } });
}

function plain401(message: string): Response {
  return new Response(message, { status: 401, headers: { "Content-Type": "text/plain; charset=utf-8" } });
}

function roomJson(r: LiveKitRoom, numParticipants: number) {
  return {
    sid: r.sid,
    name: r.name,
    empty_timeout: r.emptyTimeout,
    departure_timeout: r.departureTimeout,
    max_participants: r.maxParticipants,
    creation_time: String(Math.floor(r.creationTime / 1000)),
    creation_time_ms: String(r.creationTime),
    metadata: r.metadata,
    num_participants: numParticipants,
  };
}

function participantJson(p: LiveKitParticipant) {
  return {
    sid: p.sid,
    identity: p.identity,
    name: p.name,
    metadata: p.metadata,
    state: p.state,
    kind: p.kind,
    attributes: p.attributes,
    joined_at: String(Math.floor(p.joinedAt / 1000)),
    joined_at_ms: String(p.joinedAt),
  };
}

function dispatchJson(d: LiveKitDispatch) {
  return {
    id: d.id,
    agent_name: d.agentName,
    room: d.room,
    metadata: d.metadata,
    state: { jobs: [], created_at: String(d.createdAt * 1_000_000) },
  };
}

export function startLiveKitDouble(
  opts: { apiKey?: string; apiSecret?: string; latencyMs?: number } = {},
): LiveKitDouble {
  const apiKey = opts.apiKey ?? "APIdoubleKey";
  const apiSecret = opts.apiSecret ?? "double-secret-" + crypto.randomUUID();
  const secretKey = new TextEncoder().encode(apiSecret);
  const requests: LiveKitRequestRecord[] = [];
  const rooms = new Map<string, LiveKitRoom>();
  const members = new Map<string, Map<string, LiveKitParticipant>>();
  const dispatches = new Map<string, LiveKitDispatch>();
  const faults = new ScriptedFaults<LiveKitMethod, LiveKitFailure>(opts.latencyMs);
  // `serve` is a hoisted function declaration below.
  const loopback = serveOnLoopback(serve);

  function ensureRoom(name: string): LiveKitRoom {
    let room = rooms.get(name);
    if (!room) {
      room = {
        sid: randomId("RM_"),
        name,
        metadata: "",
        emptyTimeout: 300,
        departureTimeout: 20,
        maxParticipants: 0,
        creationTime: Date.now(),
      };
      rooms.set(name, room);
      members.set(name, new Map());
    }
    return room;
  }

  function addParticipant(
    room: string,
    p: Partial<LiveKitParticipant> & { identity: string },
  ): LiveKitParticipant {
    ensureRoom(room);
    const participant: LiveKitParticipant = {
      sid: randomId("PA_"),
      name: "",
      metadata: "",
      kind: "STANDARD",
      state: "ACTIVE",
      attributes: {},
      joinedAt: Date.now(),
      ...p,
    };
    members.get(room)!.set(participant.identity, participant);
    return participant;
  }

  /** Authenticates like livekit-server's APIKeyAuthMiddleware: a refusal, or the claims (null if no token). */
  async function authenticate(
    req: Request,
  ): Promise<{ refusal: Response } | { claims: LiveKitClaims | null }> {
    const header = req.headers.get("authorization") ?? "";
    if (!header) return { claims: null };
    if (!header.startsWith("Bearer ")) {
      return { refusal: plain401("invalid authorization header. Must start with Bearer ") };
    }
    const token = header.slice("Bearer ".length);
    let unverified: LiveKitClaims;
    try {
      unverified = decodeJwt(token) as LiveKitClaims;
    } catch {
      return { refusal: plain401("invalid authorization token") };
    }
    if (unverified.iss !== apiKey) return { refusal: plain401("invalid API key: " + (unverified.iss ?? "")) };
    try {
      const { payload } = await jwtVerify(token, secretKey, {
        algorithms: ["HS256"],
        issuer: apiKey,
        clockTolerance: 60, // go-jose's default leeway
      });
      return { claims: payload as LiveKitClaims };
    } catch (e) {
      return { refusal: plain401("invalid token: error: " + (e instanceof Error ? e.message : String(e))) };
    }
  }

  function handle(method: LiveKitMethod, body: Body): Response {
    switch (method) {
      case "CreateRoom": {
        const name = field(body, "name");
        if (!name) return twirpError("invalid_argument", "room name is required");
        const existed = rooms.has(name);
        const room = ensureRoom(name);
        if (!existed) {
          room.metadata = field(body, "metadata");
          room.emptyTimeout = Number(body.emptyTimeout ?? body.empty_timeout ?? room.emptyTimeout);
          room.departureTimeout = Number(
            body.departureTimeout ?? body.departure_timeout ?? room.departureTimeout,
          );
          room.maxParticipants = Number(body.maxParticipants ?? body.max_participants ?? 0);
        }
        return ok(roomJson(room, members.get(name)!.size));
      }
      case "ListRooms": {
        const names = (body.names as string[] | undefined) ?? [];
        const list = [...rooms.values()].filter((r) => names.length === 0 || names.includes(r.name));
        return ok({ rooms: list.map((r) => roomJson(r, members.get(r.name)!.size)) });
      }
      case "DeleteRoom": {
        const name = field(body, "room");
        if (!rooms.has(name)) return twirpError("not_found", "room not found");
        rooms.delete(name);
        members.delete(name);
        for (const [id, d] of dispatches) if (d.room === name) dispatches.delete(id);
        return ok({});
      }
      case "UpdateRoomMetadata": {
        const room = rooms.get(field(body, "room"));
        if (!room) return twirpError("not_found", "room not found");
        room.metadata = field(body, "metadata");
        return ok(roomJson(room, members.get(room.name)!.size));
      }
      case "ListParticipants": {
        const list = [...(members.get(field(body, "room"))?.values() ?? [])];
        return ok({ participants: list.map(participantJson) });
      }
      case "GetParticipant": {
        const p = members.get(field(body, "room"))?.get(field(body, "identity"));
        return p ? ok(participantJson(p)) : twirpError("not_found", "participant not found");
      }
      case "RemoveParticipant": {
        const roomMembers = members.get(field(body, "room"));
        if (!roomMembers?.delete(field(body, "identity"))) {
          return twirpError("not_found", "participant not found");
        }
        return ok({});
      }
      case "CreateDispatch": {
        const room = field(body, "room");
        if (!room) return twirpError("invalid_argument", "room is required");
        ensureRoom(room);
        const dispatch: LiveKitDispatch = {
          id: randomId("AD_"),
          agentName: field(body, "agentName"),
          room,
          metadata: field(body, "metadata"),
          createdAt: Date.now(),
        };
        dispatches.set(dispatch.id, dispatch);
        return ok(dispatchJson(dispatch));
      }
      case "DeleteDispatch": {
        const dispatch = dispatches.get(field(body, "dispatchId"));
        if (!dispatch || dispatch.room !== field(body, "room")) {
          return twirpError("not_found", "dispatch not found");
        }
        dispatches.delete(dispatch.id);
        return ok(dispatchJson(dispatch));
      }
      case "ListDispatch": {
        const room = field(body, "room");
        const id = field(body, "dispatchId");
        const list = [...dispatches.values()].filter((d) => d.room === room && (!id || d.id === id));
        return ok({ agent_dispatches: list.map(dispatchJson) });
      }
      case "CreateSIPParticipant": {
        const trunk = field(body, "sipTrunkId");
        if (!trunk && !body.trunk) return twirpError("invalid_argument", "missing sip trunk id");
        const callTo = field(body, "sipCallTo");
        if (!callTo) return twirpError("invalid_argument", "missing sip call to");
        const room = field(body, "roomName");
        if (!room) return twirpError("invalid_argument", "missing room name");
        const sipCallId = randomId("SCL_");
        const participant = addParticipant(room, {
          identity: field(body, "participantIdentity") || "sip-participant",
          name: field(body, "participantName"),
          metadata: field(body, "participantMetadata"),
          kind: "SIP",
          attributes: {
            ...((body.participantAttributes ?? body.participant_attributes ?? {}) as Record<string, string>),
            "sip.callID": sipCallId,
            "sip.callStatus": "active",
            "sip.phoneNumber": callTo,
            "sip.trunkID": trunk,
          },
        });
        return ok({
          participant_id: participant.sid,
          participant_identity: participant.identity,
          room_name: room,
          sip_call_id: sipCallId,
        });
      }
      case "TransferSIPParticipant": {
        const p = members.get(field(body, "roomName"))?.get(field(body, "participantIdentity"));
        if (!p) return twirpError("not_found", "participant not found");
        if (p.kind !== "SIP") return twirpError("invalid_argument", "participant is not a SIP participant");
        return ok({});
      }
    }
  }

  async function serve(req: Request): Promise<Response> {
    const path = new URL(req.url).pathname;
    const match = /^\/twirp\/livekit\.([A-Za-z]+)\/([A-Za-z]+)$/.exec(path);
    const record: LiveKitRequestRecord = {
      service: match?.[1] ?? "",
      method: match?.[2] ?? "",
      path,
      body: null,
      claims: null,
      headers: req.headers,
      receivedAt: Date.now(),
    };
    requests.push(record);
    const answer = (res: Response) => {
      record.status = res.status;
      return res;
    };

    const method = record.method as LiveKitMethod;
    await sleep(faults.latencyFor(method), loopback.closing);

    // As in livekit-server: the auth middleware runs first, then Twirp's routing (method, then path).
    const auth = await authenticate(req);
    if ("refusal" in auth) return answer(auth.refusal);
    record.claims = auth.claims;

    if (req.method !== "POST") {
      return answer(twirpError("bad_route", `unsupported method "${req.method}" (only POST is allowed)`, {
        twirp_invalid_route: `${req.method} ${path}`,
      }));
    }
    if (!match || services[method] !== record.service) {
      return answer(twirpError("bad_route", `no handler for path "${path}"`, {
        twirp_invalid_route: `${req.method} ${path}`,
      }));
    }

    try {
      const parsed = JSON.parse(await req.text());
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
        throw new Error("not an object");
      }
      record.body = parsed as Body;
    } catch {
      return answer(twirpError("malformed", "the json request could not be decoded"));
    }

    if (!permitted[method](auth.claims, record.body)) {
      return answer(twirpError("unauthenticated", "permissions denied"));
    }

    const failure = faults.take(method);
    if (failure) {
      switch (failure.kind) {
        case "hang": {
          const ended = AbortSignal.any([req.signal, loopback.closing]);
          await new Promise<void>((resolve) => {
            if (ended.aborted) resolve();
            else ended.addEventListener("abort", () => resolve(), { once: true });
          });
          return new Response(null, { status: 503 }); // nobody is listening any more
        }
        case "http":
          return answer(
            new Response(failure.body ?? "", {
              status: failure.status,
              headers: { "Content-Type": failure.contentType ?? "text/plain; charset=utf-8" },
            }),
          );
        case "twirp":
          return answer(twirpError(failure.code, failure.msg ?? failure.code, failure.meta, failure.status));
        case "sip": {
          const phrase = failure.sipStatus ?? sipReasonPhrases[failure.sipStatusCode] ?? "";
          const code = failure.code ?? twirpCodeForSipStatus(failure.sipStatusCode);
          return answer(
            twirpError(code, failure.msg ?? `sip status ${failure.sipStatusCode}: ${phrase}`, {
              sip_status_code: String(failure.sipStatusCode),
              sip_status: phrase,
            }),
          );
        }
      }
    }

    return answer(handle(method, record.body));
  }

  const close = () => loopback.close();

  return {
    url: loopback.url,
    apiKey,
    apiSecret,
    requests,
    rooms,
    dispatches,
    participants: (room) => [...(members.get(room)?.values() ?? [])],
    addParticipant,
    failNext(method, failure, times = 1) {
      faults.failNext(method, failure, times);
    },
    setLatency(ms, method) {
      faults.setLatency(ms, method);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
