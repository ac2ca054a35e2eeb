// Helpers the benchmarks share: a fresh migrated database (the test cluster) and timing.
import postgres from "postgres";
import { pauseScheduledJobs, prepareDatabase, resolveDatabase } from "../devstack/postgres/database.mjs";

/**
 * A freshly migrated database. `scheduler: false` pauses pg_cron's jobs that act on calls, for benchmarks that
 * claim and dispatch themselves: otherwise a tick landing mid-run claims a batch of their calls (and hands it
 * to a dispatcher that is not there), and those calls are missing from the figures.
 */
export async function freshDatabase({ scheduler = true } = {}) {
  const db = await resolveDatabase("test", { log: () => {} });
  await prepareDatabase(db, { fresh: true });
  if (!scheduler) pauseScheduledJobs(db.url);
  return postgres(db.url, { max: 8, onnotice: () => {} });
}

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** One line per figure: the figure, the target and their ratio (< 1 is better for "under" targets). */
export function report(name, figure, unit, target, direction = "under") {
  const ratio = direction === "under" ? figure / target : target / figure;
  const ok = ratio <= 1 ? "meets" : "MISSES";
  console.log(
    `${name}: ${figure.toFixed(2)} ${unit} (target ${direction} ${target} ${unit}; ratio ${
      ratio.toFixed(2)
    }, ${ok})`,
  );
}
