import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { type Clock, TokenBucket } from "./rate-limit.ts";

/** A clock that only moves when someone sleeps: the schedule is exact, whatever the machine's load. */
function virtualClock(): Clock {
  let now = 0;
  return {
    now: () => now,
    sleep(ms) {
      now += ms;
      return Promise.resolve();
    },
  };
}

Deno.test("a bucket of 2 per second with burst 2 lets two through at once, then one every 500 ms", async () => {
  const clock = virtualClock();
  const bucket = new TokenBucket(2, 2, clock);
  const grantedAt: number[] = [];
  await Promise.all(Array.from({ length: 6 }, () => bucket.take().then(() => grantedAt.push(clock.now()))));
  assertEquals(grantedAt, [0, 0, 500, 1000, 1500, 2000]);
});

Deno.test("callers are served in the order they asked", async () => {
  const clock = virtualClock();
  const bucket = new TokenBucket(1, 1, clock);
  const order: string[] = [];
  await Promise.all(["a", "b", "c", "d"].map((name) => bucket.take().then(() => order.push(name))));
  assertEquals(order, ["a", "b", "c", "d"]);
  assertEquals(clock.now(), 3000);
});

Deno.test("an unset rate never waits", async () => {
  const clock = virtualClock();
  const bucket = new TokenBucket(0, undefined, clock);
  await Promise.all(Array.from({ length: 100 }, () => bucket.take()));
  assertEquals(clock.now(), 0);
});

Deno.test("tokens refill while idle, up to the burst", async () => {
  const clock = virtualClock();
  const bucket = new TokenBucket(10, 3, clock);
  for (let i = 0; i < 3; i++) await bucket.take();
  await clock.sleep(10_000); // idle for 10 s: 100 tokens' worth, capped at 3
  const before = clock.now();
  for (let i = 0; i < 4; i++) await bucket.take();
  assertEquals(clock.now() - before, 100); // three free, the fourth waits 1/10 s
});
