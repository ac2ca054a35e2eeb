// Helpers the benchmarks share: a fresh migrated database (the test cluster) and timing.
import postgres from "postgres";
import { prepareDatabase, resolveDatabase } from "../scripts/lib/database.mjs";

export async function freshDatabase() {
  const db = await resolveDatabase("test", { log: () => {} });
  await prepareDatabase(db, { fresh: true });
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
