#!/usr/bin/env node
// `npm test`: every suite, in order, then one line `N passed, N failed` across all of them.
// Type checks, lint and format count as one check each; pgTAP, Deno and Node suites count tests.
// The pgTAP and Deno suites run against a freshly recreated, migrated test database
// (its own cluster on port 54332, or TEST_DATABASE_URL), with pg_cron's call jobs paused: tests drive them.
import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import {
  pauseScheduledJobs,
  prepareDatabase,
  psql,
  resolveDatabase,
} from "../devstack/postgres/database.mjs";
import { localEnv } from "../devstack/local-env.mjs";
import { ROOT } from "../devstack/postgres/postgres-cluster.mjs";

const bin = (name) => join(ROOT, "node_modules", ".bin", name);
const only = process.argv.slice(2); // e.g. `npm test -- pgtap deno`

function collect(dir, pattern) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    if (entry === "node_modules" || entry.startsWith(".")) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...collect(path, pattern));
    else if (pattern.test(entry)) out.push(path);
  }
  return out.sort();
}

/** Runs a command with output streamed through, and returns its exit code and captured output. */
function exec(command, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env } });
    let output = "";
    const forward = (out) => (chunk) => {
      output += chunk;
      out.write(chunk);
    };
    child.stdout.on("data", forward(process.stdout));
    child.stderr.on("data", forward(process.stderr));
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

const check = (r) => (r.code === 0 ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 });
const count = (re, text) => [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);

let testDb;
let testEnv;
async function database() {
  if (!testDb) {
    testDb = await resolveDatabase("test", { log: console.log });
    await prepareDatabase(testDb, { fresh: true, log: console.log });
    psql(testDb.url, [
      "-c",
      "create extension if not exists pgtap with schema extensions",
      "-c",
      "create extension if not exists plpgsql_check with schema extensions",
    ]);
    pauseScheduledJobs(testDb.url);
    testEnv = await localEnv({
      databaseUrl: testDb.url,
      functionsPort: Number(process.env.TEST_FUNCTIONS_PORT ?? 54331),
    });
  }
  return testDb;
}

// The parts of devstack/ that run in Deno beside the functions (the rest runs in Node, like the agent).
const DENO_DEVSTACK = [
  "devstack/functions-router",
  "devstack/doubles/livekit",
  "devstack/doubles/twilio",
  "devstack/loopback.ts",
  "devstack/fixtures/test-database.ts",
  "devstack/fixtures/dispatch.ts",
];

/** devstack's test files, by the runtime that runs them. */
function devstackTests() {
  const files = collect(join(ROOT, "devstack"), /\.test\.(ts|mjs)$/).map((p) => relative(ROOT, p));
  const deno = files.filter((f) => DENO_DEVSTACK.some((d) => f === d || f.startsWith(`${d}/`)));
  return { deno, node: files.filter((f) => !deno.includes(f)) };
}

const suites = [
  {
    name: "typecheck-node",
    run: async () => check(await exec(bin("tsc"), ["-p", "tsconfig.json"])),
  },
  {
    name: "typecheck-deno",
    run: async () => {
      const entries = [
        ...collect(join(ROOT, "supabase", "functions"), /\.ts$/),
        ...DENO_DEVSTACK.flatMap((p) =>
          p.endsWith(".ts") ? [join(ROOT, p)] : collect(join(ROOT, p), /\.ts$/)
        ),
      ].map((p) => relative(ROOT, p));
      return check(await exec(bin("deno"), ["check", "--quiet", ...entries]));
    },
  },
  // Imports run downwards only (DESIGN.md section 2); every offending file and import is printed.
  { name: "layering", run: async () => check(await exec(process.execPath, ["scripts/check-layering.mjs"])) },
  { name: "lint", run: async () => check(await exec(bin("deno"), ["lint", "--quiet"])) },
  { name: "format", run: async () => check(await exec(bin("deno"), ["fmt", "--check", "--quiet"])) },
  {
    name: "pgtap",
    run: async () => {
      const db = await database();
      const files = collect(join(ROOT, "supabase", "tests"), /\.sql$/).map((p) => relative(ROOT, p));
      if (files.length === 0) return { passed: 0, failed: 0 };
      const r = await exec("pg_prove", ["--verbose", "--failures", "-d", db.url, ...files], {
        PGOPTIONS: "-c search_path=public,extensions -c client_min_messages=warning",
      });
      const passed = (r.output.match(/^ok \d+/gm) ?? []).length;
      const failed = (r.output.match(/^not ok \d+/gm) ?? []).length;
      // A file that dies before its plan completes fails even with no `not ok` line.
      return { passed, failed: failed + (r.code !== 0 && failed === 0 ? 1 : 0) };
    },
  },
  {
    name: "deno",
    run: async () => {
      await database();
      const r = await exec(bin("deno"), [
        "test",
        "--allow-all",
        "--unstable-no-legacy-abort",
        "supabase/functions/",
        ...devstackTests().deno,
        // Shared code whose path differs by runtime (it also runs in the node suite).
        "shared/src/bytes.test.ts",
      ], { ...testEnv, TEST_DATABASE_URL: testDb.url });
      const m = /(\d+) passed.*?\| (\d+) failed/.exec(r.output);
      if (!m) return { passed: 0, failed: 1 };
      return { passed: Number(m[1]), failed: Number(m[2]) + (r.code !== 0 && Number(m[2]) === 0 ? 1 : 0) };
    },
  },
  {
    name: "node",
    run: async () => {
      await database();
      const files = [
        ...collect(join(ROOT, "shared"), /\.test\.ts$/),
        ...collect(join(ROOT, "agent"), /\.test\.ts$/),
        ...collect(join(ROOT, "scripts"), /\.test\.mjs$/),
        ...devstackTests().node,
      ].map((p) => relative(ROOT, p));
      if (files.length === 0) return { passed: 0, failed: 0 };
      // One file at a time, whatever the machine's core count: the files share one database, and some set
      // platform-wide state while they run (the pipeline test's pg_cron tick, the claim test's platform cap).
      const r = await exec(process.execPath, [
        "--import",
        "tsx",
        "--test",
        "--test-concurrency=1",
        "--test-reporter=tap",
        ...files,
      ], {
        ...testEnv,
        TEST_DATABASE_URL: testDb.url,
      });
      const passed = count(/^# pass (\d+)/gm, r.output);
      const failed = count(/^# fail (\d+)/gm, r.output);
      return { passed, failed: failed + (r.code !== 0 && failed === 0 ? 1 : 0) };
    },
  },
];

const results = [];
for (const suite of suites) {
  if (only.length && !only.includes(suite.name)) continue;
  console.log(`\n=== ${suite.name}`);
  const started = Date.now();
  let result;
  try {
    result = await suite.run();
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    result = { passed: 0, failed: 1 };
  }
  results.push({ name: suite.name, ...result, seconds: (Date.now() - started) / 1000 });
}

console.log("\n=== summary");
for (const r of results) {
  console.log(
    `${r.failed ? "FAIL" : "ok  "} ${r.name.padEnd(16)} ${r.passed} passed, ${r.failed} failed (${
      r.seconds.toFixed(1)
    }s)`,
  );
}
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
