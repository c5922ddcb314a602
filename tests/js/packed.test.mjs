// unpack (mpq_app/ui/live_js/packed.js) rebuilds each step as mpq_core.charts.live.unpack_state does.
import assert from "node:assert/strict";
import { test } from "node:test";

import { unpack } from "../../mpq_app/ui/live_js/packed.js";
import { PROBLEMS, fixture } from "./fixtures.mjs";

// The same state, and its keys in the same order.
function assertSame(actual, expected, where) {
  assert.deepEqual(actual, expected, where);
  assert.equal(JSON.stringify(actual), JSON.stringify(expected), `${where}: key order`);
}

for (const name of PROBLEMS) {
  const { views, unpacked } = fixture(name);

  test(`${name}: every view at every step is unpacked as Python unpacks it`, () => {
    assert.deepEqual(Object.keys(unpacked), Object.keys(views));
    for (const [view, spec] of Object.entries(views)) {
      assert.equal(spec.table.steps.length, spec.grid.length, view);
      for (let i = 0; i < spec.grid.length; i++) {
        assertSame(unpack(spec.table, i), unpacked[view][i], `${view} ${i}`);
      }
    }
  });

  test(`${name}: a step's state shares the table's values, not copies`, () => {
    const { table } = views.heatmap;
    const first = unpack(table, 0);
    const last = unpack(table, table.steps.length - 1);
    const options = table.objects[table.steps[0].config].toImageButtonOptions;
    assert.equal(first.config.toImageButtonOptions, table.values[options]);
    assert.notEqual(first.layout, last.layout);
  });
}

test("hand-made states: NaN as null, numpy values, an empty list first, escaped text", () => {
  const { tables } = fixture("edges");
  assert.deepEqual(Object.keys(tables), ["numbers", "empty_first", "shared", "values"]);
  for (const [name, { table, unpacked }] of Object.entries(tables)) {
    unpacked.forEach((expected, i) => assertSame(unpack(table, i), expected, `${name} ${i}`));
  }
});

test("the kinds of field: an object, a list of objects, a value", () => {
  const table = {
    fields: { one: "object", many: "objects", whole: "value" },
    values: ["a", 1, [2, 3]],
    objects: [{ k: 0 }, { k: 1, l: 2 }],
    steps: [
      { one: 0, many: [1, 0], whole: 2 },
      { one: 1, many: [], whole: 0 },
    ],
  };
  assert.deepEqual(unpack(table, 0), {
    one: { k: "a" },
    many: [{ k: 1, l: [2, 3] }, { k: "a" }],
    whole: [2, 3],
  });
  assert.deepEqual(unpack(table, 1), { one: { k: 1, l: [2, 3] }, many: [], whole: "a" });
});
