#!/usr/bin/env node
// The layering rule (DESIGN.md section 2), checked on the imports of every .ts/.mts/.mjs file:
//   shared/                                   imports nothing of ours;
//   supabase/functions/, agent/, console/     import shared/ and their own folder, never each other;
//   devstack/                                 stands in for Supabase and the carriers: it may import the
//                                             product (to serve the functions, to mint as the dispatcher does);
//   scripts/, bench/                          the commands: anything.
// Only tests (*.test.*), benches and scripts import devstack/. Type-only imports count:
// they tie the layers together as much as any other. Prints every offending file and import; exits 1 if any.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

const ROOT = normalize(join(import.meta.dirname, ".."));
const SKIP = new Set(["node_modules", ".git", ".local", "dist"]);

/** Our workspace packages, by the folder they are. */
const PACKAGES = { "@intake/shared": "shared", "@intake/agent": "agent", "@intake/devstack": "devstack" };

/** What each layer may import (besides itself). */
const ALLOWED = {
  shared: [],
  functions: ["shared"],
  agent: ["shared"],
  console: ["shared"],
  devstack: ["shared", "functions", "agent", "console"],
  tools: ["shared", "functions", "agent", "console", "devstack"],
};

function layerOf(path) {
  const [top, second] = path.split("/");
  if (top === "shared" || top === "agent" || top === "console" || top === "devstack") return top;
  if (top === "supabase" && second === "functions") return "functions";
  if (top === "scripts" || top === "bench") return "tools";
  return null; // data and configuration (simulations/, supabase/tests, ...): not layered
}

const isTest = (path) => /\.test\.(ts|mts|mjs)$/.test(path);

function sources(dir) {
  const out = [];
  for (const entry of readdirSync(dir)) {
    if (SKIP.has(entry)) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (/\.(ts|mts|mjs)$/.test(entry) && !entry.endsWith(".d.mts")) out.push(path);
  }
  return out;
}

// Static imports and re-exports (`import ... from`, `export ... from`, `import "x"`) and dynamic `import(...)`;
// for a template literal, the part before its first `${` (enough to know the folder).
const IMPORT = /(?:^|[^\w.])(?:import|export)\s*(?:[\w*{}\s,]*?\s*from\s*)?\(?\s*(["'`])([^"'`$]+)/g;

/** Every specifier the file imports, with its line number; comments are left out. */
export function importsOf(text) {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, " ")).replace(/\/\/.*$/gm, "");
  return [...code.matchAll(IMPORT)].map((m) => ({
    specifier: m[2],
    line: code.slice(0, m.index).split("\n").length,
  }));
}

function targetOf(file, specifier) {
  if (specifier.startsWith(".")) return relative(ROOT, normalize(join(dirname(join(ROOT, file)), specifier)));
  const pkg = Object.keys(PACKAGES).find((p) => specifier === p || specifier.startsWith(`${p}/`));
  return pkg ? PACKAGES[pkg] + "/" : null; // npm, node: and jsr packages are not ours
}

export function violations(root = ROOT) {
  const found = [];
  for (const path of sources(root)) {
    const file = relative(root, path);
    const from = layerOf(file);
    if (!from) continue;
    for (const { specifier, line } of importsOf(readFileSync(path, "utf8"))) {
      const target = targetOf(file, specifier);
      const to = target && layerOf(target);
      if (!to || to === from || ALLOWED[from].includes(to)) continue;
      if (to === "devstack" && isTest(file)) continue;
      found.push({ file, line, specifier, from, to });
    }
  }
  return found;
}

if (import.meta.main ?? import.meta.url === `file://${process.argv[1]}`) {
  const found = violations();
  for (const v of found) {
    console.error(
      `${v.file}:${v.line} imports "${v.specifier}" (${v.from} -> ${v.to}): ` +
        (v.to === "devstack"
          ? "only tests, benches and scripts import devstack/"
          : v.from === "shared"
          ? "shared/ imports nothing of ours"
          : `${v.from} imports only shared/ and its own folder`),
    );
  }
  console.log(found.length ? `${found.length} layering violation(s)` : "layering ok");
  process.exit(found.length ? 1 : 0);
}
