// The deploy, checked offline: every function in supabase/functions bundles, and its import graph stays inside
// what `supabase functions deploy` uploads. The CLI's own bundlers cannot run here (the default one runs the
// edge runtime in Docker; `--use-api` bundles on Supabase's servers), so this is the closest faithful check:
// - `deno bundle` (the pinned Deno) resolves and bundles each function's whole graph, npm packages included,
//   the way a deploy must: an import that does not resolve or a syntax Deno refuses fails here;
// - every local module of the graph lies under supabase/functions/ or shared/src/ (the files the CLI walks and
//   uploads from the project), never agent/, scripts/, devstack/ or node_modules paths written by hand;
// - every bare specifier is mapped in deno.json's imports to an `npm:` package with a version range, so that it
//   resolves from the registry on Supabase, not only from this checkout's node_modules;
// - config.toml has a [functions.<name>] entry for every function folder and none for a missing one.
// It does not prove Supabase's edge runtime accepts the bundle (its Deno version and eszip format are theirs).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, sep } from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DENO = join(ROOT, "node_modules", ".bin", "deno");
const FUNCTIONS = join(ROOT, "supabase", "functions");
const UPLOADED = [join(FUNCTIONS, ""), join(ROOT, "shared", "src", "")].map((p) =>
  p.endsWith(sep) ? p : p + sep
);
const imports = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")).imports;
const names = readdirSync(FUNCTIONS).filter((n) =>
  !n.startsWith("_") && statSync(join(FUNCTIONS, n)).isDirectory()
);
const out = mkdtempSync(join(tmpdir(), "deploy-bundle-"));
after(() => rmSync(out, { recursive: true, force: true }));

test("config.toml has an entry for every function folder, and only for those", () => {
  const config = readFileSync(join(ROOT, "supabase", "config.toml"), "utf8");
  const entries = [...config.matchAll(/^\[functions\.([\w-]+)\]/gm)].map((m) => m[1]).sort();
  assert.deepEqual(entries, [...names].sort());
});

test("deno.json maps every bare import to a versioned npm: package", () => {
  for (const [name, target] of Object.entries(imports)) {
    assert.match(target, /^npm:(@[^/]+\/)?[^@/]+@[^/]+(\/.*)?$/, `${name} -> ${target}`);
  }
});

for (const name of names) {
  test(`${name} bundles, and its graph stays inside what the deploy uploads`, () => {
    const entry = join(FUNCTIONS, name, "index.ts");
    execFileSync(DENO, ["bundle", "--quiet", "--platform=deno", "-o", join(out, `${name}.js`), entry], {
      cwd: ROOT,
      stdio: ["ignore", "ignore", "pipe"],
    });
    assert.ok(statSync(join(out, `${name}.js`)).size > 0);
    const graph = JSON.parse(execFileSync(DENO, ["info", "--json", entry], { cwd: ROOT, encoding: "utf8" }));
    for (const module of graph.modules) {
      if (!module.specifier?.startsWith("file:")) continue;
      const path = fileURLToPath(module.specifier);
      if (path.startsWith(join(ROOT, "node_modules") + sep)) continue; // a package, reached by a mapped name
      assert.ok(UPLOADED.some((dir) => path.startsWith(dir)), `${name} imports ${relative(ROOT, path)}`);
      for (const dependency of module.dependencies ?? []) {
        const s = dependency.specifier;
        if (/^(\.|\/|node:|npm:|file:)/.test(s)) continue;
        const mapped = Object.keys(imports).some((key) =>
          s === key || (key.endsWith("/") && s.startsWith(key))
        );
        assert.ok(mapped, `${relative(ROOT, path)} imports "${s}", which deno.json does not map`);
      }
    }
  });
}
