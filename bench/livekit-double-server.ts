// The LiveKit double in a process of its own for bench/dispatch.bench.mjs, as LiveKit is a remote server: its
// work (JWT checks, HTTP) does not share the dispatcher's event loop. Prints its address and credentials as
// one JSON line, serves until SIGTERM, then prints the agent dispatches it created (one JSON line) and exits.
import { startLiveKitDouble } from "../devstack/doubles/livekit/livekit-double.ts";

const lk = startLiveKitDouble({ latencyMs: Number(Deno.env.get("BENCH_LATENCY_MS") ?? 50) });
console.log(JSON.stringify({ url: lk.url, apiKey: lk.apiKey, apiSecret: lk.apiSecret }));
Deno.addSignalListener("SIGTERM", async () => {
  const rooms = lk.requests.filter((r) => r.method === "CreateDispatch" && r.status === 200)
    .map((r) => String(r.body?.room)).filter((room) => room.startsWith("call-")); // not the calibration
  console.log(JSON.stringify({ dispatches: rooms.length, distinctRooms: new Set(rooms).size }));
  await lk.close();
  Deno.exit(0);
});
