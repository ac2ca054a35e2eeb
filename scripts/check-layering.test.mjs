// The layering check finds what it is for: an upward, a sideways and a product-to-devstack import, in a
// throwaway tree; and it lets tests, benches and scripts use devstack/.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, test } from "node:test";
import { importsOf, violations } from "./check-layering.mjs";

const root = mkdtempSync(join(tmpdir(), "layering-"));
after(() => rmSync(root, { recursive: true, force: true }));
function write(path, text) {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), text);
}

test("upward, sideways and devstack imports from product code are reported with file and import", () => {
  write("shared/src/a.ts", 'import { x } from "../../agent/src/b.ts";\n');
  write(
    "agent/src/b.ts",
    'import type { Y } from "../../supabase/functions/_shared/c.ts";\nexport const x = 1;\n',
  );
  write("supabase/functions/_shared/c.ts", 'import { d } from "../../../devstack/d.ts";\n');
  write("agent/src/ok.ts", 'import { AgentJobMetadata } from "@intake/shared/agent-job";\nimport "zod";\n');
  write("agent/src/b.test.ts", 'import { d } from "../../devstack/d.ts";\n');
  write("devstack/d.ts", 'import { c } from "../supabase/functions/_shared/c.ts";\n');
  write("bench/e.bench.mjs", "const m = await import(`../supabase/functions/${name}/handler.ts`);\n");
  write("supabase/functions/dispatch/helpers.ts", 'import { d } from "../../../devstack/d.ts";\n');
  const found = violations(root).map((v) => `${v.file}:${v.line} ${v.specifier} ${v.from}->${v.to}`).sort();
  assert.deepEqual(found, [
    "agent/src/b.ts:1 ../../supabase/functions/_shared/c.ts agent->functions",
    "shared/src/a.ts:1 ../../agent/src/b.ts shared->agent",
    "supabase/functions/_shared/c.ts:1 ../../../devstack/d.ts functions->devstack",
    "supabase/functions/dispatch/helpers.ts:1 ../../../devstack/d.ts functions->devstack",
  ]);
});

test("imports are read across lines, in re-exports and dynamic imports, not in comments", () => {
  const text = [
    "import {",
    "  a,",
    "  type B,",
    '} from "./multi.ts";',
    'export { c } from "./re-export.ts";',
    'const d = await import("./dynamic.ts");',
    '// import { e } from "./commented.ts";',
  ].join("\n");
  assert.deepEqual(importsOf(text).map((i) => i.specifier), ["./multi.ts", "./re-export.ts", "./dynamic.ts"]);
});
