import assert from "node:assert/strict";
import fs from "node:fs";
import { test } from "node:test";
import { canonical, CanonError } from "../index.js";
import { SEED_IR } from "./support.mjs";

test("numbers as ECMAScript writes them", () => {
  const cases = [[1.0, "1"], [20, "20"], [1e21, "1e+21"], [1e20, "100000000000000000000"], [1.5e-7, "1.5e-7"],
    [0.000001, "0.000001"], [123.456, "123.456"], [-0, "0"], [5e-324, "5e-324"], [0.1, "0.1"], [2 ** 60, "1152921504606847000"]];
  for (const [x, want] of cases) assert.equal(canonical(x), want);
});

test("keys sorted by UTF-16 code units, minimal escapes", () => {
  assert.equal(canonical({ "\uffff": 2, "\u{1F600}": 1, b: [1, "é\n\x01"], a: null }),
    '{"a":null,"b":[1,"é\\n\\u0001"],"\u{1F600}":1,"\uffff":2}');
});

test("refuses what JSON cannot hold", () => {
  for (const bad of [NaN, Infinity, "\ud800", () => 1]) assert.throws(() => canonical(bad), CanonError);
});

test("idempotent on the seed IR", () => {
  const once = canonical(JSON.parse(fs.readFileSync(SEED_IR, "utf8")));
  assert.equal(canonical(JSON.parse(once)), once);
});
