// One job = one call attempt, on a real line: parse the dispatch metadata, load everything with the
// call-scoped credential before anyone answers, join the room and start the session, then dial the callee
// (LiveKit carrier) or wait for the bridged Twilio leg, and hand the conversation the moment the callee is
// really connected. The conversation itself lives in conversation.ts and knows nothing of rooms.
import { AutoSubscribe, type JobContext, voice } from "@livekit/agents";
import * as openai from "@livekit/agents-plugin-openai";
import type { RemoteParticipant } from "@livekit/rtc-node";
import { SipCallError, SipClient } from "livekit-server-sdk";
import { AgentJobMetadata, SESSION_SIP_ATTRIBUTE, SESSION_SIP_HEADER } from "@intake/shared/agent-job";
import { prepareCall } from "./call-setup.ts";
import { CallStore } from "./call-store.ts";
import type { WorkerConfig } from "./config.ts";
import { endOfCallKey, errorName } from "./conversation.ts";
import type { AgentLogger } from "./logging.ts";
import type { PhiRegistry } from "./phi.ts";
import type { PromptSource } from "./prompt.ts";
import { RoomTelephony } from "./room-telephony.ts";
import { outcomeForSipStatus } from "@intake/shared/sip-status";
import { livekitApiHost, SIP_CALL_STATUS } from "./sip.ts";
import type { Tracing } from "./tracing.ts";

export type WorkerResources = {
  config: WorkerConfig;
  vad: voice.AgentSessionOptions["vad"];
  prompts: PromptSource;
  phi: PhiRegistry;
  logger: AgentLogger;
  tracing: Tracing | null;
};

/** How long a bridged (Twilio) callee may take to appear in the room after the job starts. */
const BRIDGE_WAIT_MS = 90_000;

export function sessionModels(config: WorkerConfig, vad: WorkerResources["vad"]): voice.AgentSessionOptions {
  const common = { apiKey: config.OPENAI_API_KEY, baseURL: config.OPENAI_BASE_URL };
  if (config.AGENT_MODE === "realtime") {
    return {
      vad,
      llm: new openai.realtime.RealtimeModel({
        ...common,
        model: config.OPENAI_REALTIME_MODEL,
        voice: config.OPENAI_VOICE,
      }),
    };
  }
  return {
    vad,
    stt: new openai.STT({ ...common, model: config.OPENAI_STT_MODEL }),
    llm: new openai.LLM({ ...common, model: config.OPENAI_LLM_MODEL }),
    tts: new openai.TTS({ ...common, model: config.OPENAI_TTS_MODEL, voice: config.OPENAI_VOICE as never }),
  };
}

export async function runCall(ctx: JobContext, resources: WorkerResources): Promise<void> {
  const { config, logger } = resources;
  const parsed = AgentJobMetadata.safeParse(safeJson(ctx.job.metadata));
  if (!parsed.success) {
    logger.error({ job_id: ctx.job.id }, "job metadata is not an intake-agent dispatch; job dropped");
    ctx.shutdown("invalid metadata");
    return;
  }
  const job = parsed.data;
  const run = async () => {
    const store = new CallStore({
      supabaseUrl: config.SUPABASE_URL,
      anonKey: config.SUPABASE_ANON_KEY,
      agentToken: job.agent_token,
    });
    const sip = new SipClient(
      livekitApiHost(config.LIVEKIT_URL),
      config.LIVEKIT_API_KEY,
      config.LIVEKIT_API_SECRET,
    );
    let callee: RemoteParticipant | null = null;
    const prepared = await prepareCall({
      store,
      prompts: resources.prompts,
      phi: resources.phi,
      logger,
      telephony: new RoomTelephony(ctx, sip, () => callee?.identity ?? null),
      mode: config.AGENT_MODE,
    });
    const { context, conversation, writer } = prepared;
    if (context.session.id !== job.session_id) throw new Error("the credential belongs to another session");

    await ctx.connect(undefined, AutoSubscribe.AUDIO_ONLY);
    const session = new voice.AgentSession(sessionModels(config, resources.vad));
    conversation.attach(session);
    await session.start({ agent: conversation.agent, room: ctx.room });

    if (job.dial) {
      const identity = `callee-${context.session.id}`;
      try {
        await sip.createSipParticipant(
          job.dial.sip_trunk_id,
          context.call.callee_phone,
          ctx.room.name ?? "",
          {
            participantIdentity: identity,
            headers: { [SESSION_SIP_HEADER]: context.session.id },
            waitUntilAnswered: true,
            ringingTimeout: 45,
            maxCallDuration: context.template.max_duration_seconds + 60,
            krispEnabled: true,
          },
        );
      } catch (error) {
        const status = error instanceof SipCallError ? error.sipStatusCode : undefined;
        const outcome = status === undefined ? "failed" : outcomeForSipStatus(status);
        logger.info({ sip_status: status ?? null, outcome }, "dial did not connect");
        writer.enqueueRpc("agent_end_call", { outcome, dedupe_key: endOfCallKey(context.session.id) });
        await writer.flush(30_000);
        await session.close();
        await ctx.deleteRoom();
        return;
      }
      callee = await ctx.waitForParticipant(identity);
    } else {
      callee = await waitForBridgedCallee(ctx, context.session.id);
      if (!callee) {
        conversation.onCalleeLeft();
        await conversation.ended;
        return;
      }
    }
    ctx.room.on("participantDisconnected", (p) => {
      if (p.identity === callee?.identity) conversation.onCalleeLeft();
    });
    if (await waitForCallActive(ctx, callee)) conversation.onConnected();
    else conversation.onCalleeLeft();
    const result = await conversation.ended;
    logger.info({ outcome: result.outcome, unsent: result.unsentWrites }, "call finished");
    await session.close();
  };
  try {
    if (resources.tracing) {
      await resources.tracing.inCallSpan(
        { "session.id": job.session_id, "intake.carrier": job.carrier },
        run,
      );
      await resources.tracing.flush();
    } else {
      await run();
    }
  } catch (error) {
    logger.error({ error: errorName(error) }, "call failed");
    // Nobody may stay on a line the agent has left.
    await ctx.deleteRoom().catch(() => {});
  } finally {
    ctx.shutdown("call ended");
  }
}

function safeJson(text: string | undefined): unknown {
  try {
    return JSON.parse(text ?? "");
  } catch {
    return null;
  }
}

/** The Twilio leg enters through the inbound trunk carrying our session id in a SIP header. */
function waitForBridgedCallee(ctx: JobContext, sessionId: string): Promise<RemoteParticipant | null> {
  const matches = (p: RemoteParticipant) => p.attributes[SESSION_SIP_ATTRIBUTE] === sessionId;
  const present = [...ctx.room.remoteParticipants.values()].find(matches);
  if (present) return Promise.resolve(present);
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(null), BRIDGE_WAIT_MS);
    const onJoin = (p: RemoteParticipant) => matches(p) && done(p);
    const onAttributes = (_: Record<string, string>, p: RemoteParticipant) => matches(p) && done(p);
    const done = (p: RemoteParticipant | null) => {
      clearTimeout(timer);
      ctx.room.off("participantConnected", onJoin);
      ctx.room.off("participantAttributesChanged", onAttributes as never);
      resolve(p);
    };
    ctx.room.on("participantConnected", onJoin);
    ctx.room.on("participantAttributesChanged", onAttributes as never);
  });
}

/**
 * Speak only into an answered call, never into ringing: resolves true once `sip.callStatus` is active,
 * false if the callee leaves first.
 */
function waitForCallActive(ctx: JobContext, participant: RemoteParticipant): Promise<boolean> {
  if (participant.attributes[SIP_CALL_STATUS] === "active") return Promise.resolve(true);
  return new Promise((resolve) => {
    const onAttributes = (changed: Record<string, string>, p: RemoteParticipant) => {
      if (p.identity === participant.identity && changed[SIP_CALL_STATUS] === "active") done(true);
    };
    const onLeft = (p: RemoteParticipant) => p.identity === participant.identity && done(false);
    const done = (active: boolean) => {
      ctx.room.off("participantAttributesChanged", onAttributes as never);
      ctx.room.off("participantDisconnected", onLeft);
      resolve(active);
    };
    ctx.room.on("participantAttributesChanged", onAttributes as never);
    ctx.room.on("participantDisconnected", onLeft);
  });
}
