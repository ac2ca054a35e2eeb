// A token bucket: at most `ratePerSecond` operations per second on average, `burst` at once. Callers are
// served in arrival order, so a steady stream of one organisation's calls cannot overtake another's that
// queued earlier. One bucket per remote API and process: the dispatcher paces its own requests; several
// dispatcher instances running at once each keep their own pace (the scheduler's batch size and the
// concurrency caps bound what they start together).

export type Clock = { now(): number; sleep(ms: number): Promise<void> };

const realClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export class TokenBucket {
  readonly ratePerSecond: number;
  readonly burst: number;
  #tokens: number;
  #refilledAt: number;
  #tail: Promise<void> = Promise.resolve();
  #clock: Clock;

  /** `ratePerSecond` Infinity (or 0 / negative: unset) never waits. */
  constructor(ratePerSecond: number, burst?: number, clock: Clock = realClock) {
    this.ratePerSecond = ratePerSecond > 0 ? ratePerSecond : Infinity;
    this.burst = Math.max(
      1,
      burst ?? Math.ceil(Number.isFinite(this.ratePerSecond) ? this.ratePerSecond : 1),
    );
    this.#tokens = this.burst;
    this.#clock = clock;
    this.#refilledAt = clock.now();
  }

  /** Resolves when the caller may make its request (one token spent). */
  take(): Promise<void> {
    if (!Number.isFinite(this.ratePerSecond)) return Promise.resolve();
    const turn = this.#tail.then(() => this.#acquire());
    this.#tail = turn;
    return turn;
  }

  #refill(): void {
    const now = this.#clock.now();
    this.#tokens = Math.min(
      this.burst,
      this.#tokens + ((now - this.#refilledAt) / 1000) * this.ratePerSecond,
    );
    this.#refilledAt = now;
  }

  async #acquire(): Promise<void> {
    this.#refill();
    if (this.#tokens < 1) {
      await this.#clock.sleep(((1 - this.#tokens) / this.ratePerSecond) * 1000);
      this.#refill();
    }
    this.#tokens -= 1;
  }
}
