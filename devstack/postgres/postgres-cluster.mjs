// A private PostgreSQL 15 cluster that behaves like Supabase's database: pg_cron preloaded,
// pgTAP and plpgsql_check available, listening on loopback. It lives under .local/ (git-ignored),
// is created on first use and reused afterwards. Nothing here runs when DATABASE_URL points at
// another Postgres (for example the one `supabase start` gives).
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export const ROOT = resolve(new URL("../..", import.meta.url).pathname);
export const LOCAL_DIR = join(ROOT, ".local");

const PG_MAJOR = 15;
const DEBIAN_PACKAGES = [
  `postgresql-${PG_MAJOR}`,
  `postgresql-${PG_MAJOR}-cron`,
  `postgresql-${PG_MAJOR}-pgtap`,
  `postgresql-${PG_MAJOR}-plpgsql-check`,
  "libtap-parser-sourcehandler-pgtap-perl", // pg_prove
];

/** The clusters this project runs: `dev` for `npm start`, `test` for `npm test` (recreated each run). */
export const CLUSTERS = {
  dev: { port: Number(process.env.DB_PORT ?? 54322) },
  test: { port: Number(process.env.TEST_DB_PORT ?? 54332) },
};

export const SUPERUSER_PASSWORD = "postgres";

export function clusterUrl(name, database = "postgres") {
  return `postgresql://postgres:${SUPERUSER_PASSWORD}@127.0.0.1:${CLUSTERS[name].port}/${database}`;
}

function pgBin() {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const debian = `/usr/lib/postgresql/${PG_MAJOR}/bin`;
  if (existsSync(join(debian, "postgres"))) return debian;
  try {
    return execFileSync("pg_config", ["--bindir"], { encoding: "utf8" }).trim();
  } catch {
    return debian;
  }
}

function pgShareDir() {
  try {
    return execFileSync(join(pgBin(), "pg_config"), ["--sharedir"], { encoding: "utf8" }).trim();
  } catch {
    return `/usr/share/postgresql/${PG_MAJOR}`;
  }
}

function missingPieces() {
  const missing = [];
  if (!existsSync(join(pgBin(), "postgres"))) missing.push(`postgresql-${PG_MAJOR}`);
  const ext = join(pgShareDir(), "extension");
  if (!existsSync(join(ext, "pg_cron.control"))) missing.push(`postgresql-${PG_MAJOR}-cron`);
  if (!existsSync(join(ext, "pgtap.control"))) missing.push(`postgresql-${PG_MAJOR}-pgtap`);
  if (!existsSync(join(ext, "plpgsql_check.control"))) missing.push(`postgresql-${PG_MAJOR}-plpgsql-check`);
  if (spawnSync("sh", ["-c", "command -v pg_prove"]).status !== 0) {
    missing.push("libtap-parser-sourcehandler-pgtap-perl");
  }
  return missing;
}

/** Installs the Debian packages the database needs when we can (root + apt), else says exactly what to run. */
export function ensurePackages(log = console.log) {
  let missing = missingPieces();
  if (missing.length === 0) return;
  const isRoot = process.getuid?.() === 0;
  const hasApt = spawnSync("sh", ["-c", "command -v apt-get"]).status === 0;
  if (!isRoot || !hasApt) {
    throw new Error(
      `PostgreSQL ${PG_MAJOR} pieces are missing: ${missing.join(", ")}.\n` +
        `Install them with:\n  sudo apt-get install -y ${DEBIAN_PACKAGES.join(" ")}\n` +
        `or point DATABASE_URL at a Postgres that has pg_cron, pgtap and plpgsql_check.`,
    );
  }
  log(`Installing Debian packages: ${missing.join(" ")}`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  let r = spawnSync("apt-get", ["install", "-y", "--no-install-recommends", ...missing], {
    stdio: "inherit",
    env,
  });
  if (r.status !== 0) {
    spawnSync("apt-get", ["update"], { stdio: "inherit", env });
    r = spawnSync("apt-get", ["install", "-y", "--no-install-recommends", ...missing], {
      stdio: "inherit",
      env,
    });
  }
  missing = missingPieces();
  if (r.status !== 0 || missing.length) {
    throw new Error(`apt-get could not install: ${missing.join(", ")}`);
  }
}

// initdb and postgres refuse to run as root: when we are root, the cluster belongs to `postgres`.
function asClusterOwner(cmd, args, opts = {}) {
  const full = process.getuid?.() === 0 ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
  return spawnSync(full[0], full[1], { encoding: "utf8", ...opts });
}

function clusterDir(name) {
  return join(LOCAL_DIR, "postgres", name);
}

function ownForCluster(path) {
  if (process.getuid?.() !== 0) return;
  const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
  chownSync(path, uid, gid);
}

function initCluster(name) {
  const dir = clusterDir(name);
  const data = join(dir, "data");
  mkdirSync(dir, { recursive: true });
  ownForCluster(dir);
  const pwfile = join(dir, "pwfile");
  writeFileSync(pwfile, SUPERUSER_PASSWORD + "\n", { mode: 0o600 });
  ownForCluster(pwfile);
  const r = asClusterOwner(join(pgBin(), "initdb"), [
    "-D",
    data,
    "-U",
    "postgres",
    "--auth=scram-sha-256",
    `--pwfile=${pwfile}`,
    "--encoding=UTF8",
    "--locale=C.UTF-8",
  ]);
  if (r.status !== 0) throw new Error(`initdb failed:\n${r.stderr}`);
  // Supabase's settings that our migrations rely on: pg_cron preloaded and running its jobs in
  // background workers (no libpq login needed), in the database named like Supabase's.
  const conf = [
    "",
    "# --- added by devstack/postgres/postgres-cluster.mjs ---",
    "listen_addresses = '127.0.0.1'",
    `port = ${CLUSTERS[name].port}`,
    `unix_socket_directories = '${dir}'`,
    "shared_preload_libraries = 'pg_cron,plpgsql,plpgsql_check'",
    "cron.database_name = 'postgres'",
    "cron.use_background_workers = on",
    "max_worker_processes = 32",
    "max_connections = 200",
    "timezone = 'UTC'",
    "log_min_messages = warning",
    // The test cluster is thrown away each run: durability buys nothing there.
    ...(name === "test" ? ["fsync = off", "synchronous_commit = off", "full_page_writes = off"] : []),
    "",
  ].join("\n");
  writeFileSync(join(data, "postgresql.conf"), readFileSync(join(data, "postgresql.conf"), "utf8") + conf);
}

function isRunning(name) {
  const data = join(clusterDir(name), "data");
  if (!existsSync(data)) return false;
  return asClusterOwner(join(pgBin(), "pg_ctl"), ["-D", data, "status"]).status === 0;
}

async function waitReady(name, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = spawnSync(join(pgBin(), "pg_isready"), ["-h", "127.0.0.1", "-p", String(CLUSTERS[name].port)]);
    if (r.status === 0) return;
    await sleep(100);
  }
  throw new Error(`PostgreSQL cluster '${name}' did not become ready on port ${CLUSTERS[name].port}`);
}

/** Creates (first time) and starts the named cluster; a second call reuses it. Returns its URL. */
export async function startCluster(name, log = console.log) {
  ensurePackages(log);
  const dir = clusterDir(name);
  if (!existsSync(join(dir, "data", "PG_VERSION"))) {
    log(`Creating PostgreSQL ${PG_MAJOR} cluster '${name}' in ${dir}`);
    initCluster(name);
  }
  if (!isRunning(name)) {
    const logfile = join(dir, "postgres.log");
    if (!existsSync(logfile)) {
      writeFileSync(logfile, "");
      ownForCluster(logfile);
    }
    const r = asClusterOwner(join(pgBin(), "pg_ctl"), [
      "-D",
      join(dir, "data"),
      "-l",
      logfile,
      "-w",
      "start",
    ]);
    if (r.status !== 0) {
      const tail = existsSync(logfile) ? readFileSync(logfile, "utf8").split("\n").slice(-15).join("\n") : "";
      throw new Error(`PostgreSQL cluster '${name}' failed to start:\n${r.stdout}${r.stderr}\n${tail}`);
    }
  }
  await waitReady(name);
  return clusterUrl(name);
}

export function stopCluster(name) {
  const data = join(clusterDir(name), "data");
  if (!isRunning(name)) return false;
  const r = asClusterOwner(join(pgBin(), "pg_ctl"), ["-D", data, "-m", "fast", "-w", "stop"]);
  if (r.status !== 0) throw new Error(`pg_ctl stop failed: ${r.stderr}`);
  return true;
}

export function clusterStatus(name) {
  const data = join(clusterDir(name), "data");
  return {
    name,
    exists: existsSync(join(data, "PG_VERSION")),
    running: isRunning(name),
    port: CLUSTERS[name].port,
    url: clusterUrl(name),
    dir: clusterDir(name),
  };
}
