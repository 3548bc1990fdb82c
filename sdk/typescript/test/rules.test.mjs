// The built-in checks report what ir-validate reports: the same (code,
// pointer) pairs on every case of sdk/testdata/rule-cases.json.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { checkIR } from "../index.js";
import { ROOT } from "./support.mjs";

const cases = JSON.parse(fs.readFileSync(path.join(ROOT, "sdk", "testdata", "rule-cases.json"), "utf8"));
const key = (e) => `${e[0]} ${e[1]}`;

test("the built-in checks agree with ir-validate on every rule case", () => {
  assert.ok(cases.length > 50);
  for (const c of cases) {
    const got = checkIR(c.ir, { baseDir: ROOT }).map(key).sort();
    assert.deepEqual(got, c.errors.map(key).sort(), c.name);
  }
});
