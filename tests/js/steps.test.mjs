// nearest (mpq_app/ui/live_js/steps.js) picks the step that ui.live._nearest picks; wanted and stepKey
// decide what a view draws.
import assert from "node:assert/strict";
import { test } from "node:test";

import { SAME, nearest, stepKey, wanted } from "../../mpq_app/ui/live_js/steps.js";
import { PROBLEMS, fixture } from "./fixtures.mjs";

function assertNearest({ grid, values, steps }, where) {
  assert.equal(values.length, steps.length);
  const found = values.map((value) => nearest(grid, value));
  const wrong = values.filter((value, i) => found[i] !== steps[i]);
  assert.deepEqual(wrong, [], `${where}: values whose step differs from Python's`);
}

for (const name of PROBLEMS) {
  test(`${name}: the nearest step of each value, as Python picks it`, () => {
    assertNearest(fixture(name).nearest, name);
  });
}

test("odd grids and the slider's 101 steps: the nearest step, as Python picks it", () => {
  const grids = fixture("edges").nearest;
  assert.equal(grids[0].grid.length, 101);
  grids.forEach((answers, i) => assertNearest(answers, `grid ${i}`));
});

test("two steps as near: the lower one", () => {
  assert.equal(nearest([0, 0.5, 1], 0.25), 0);
  assert.equal(nearest([0, 0.5, 1], 0.75), 1);
  assert.equal(nearest([1, 2], 1.5), 0);
});

const SERVER = { value: 0.4237, slider_value: 0.42, override: { heatmap: { steps: [] } } };

test("wanted: the server's own state while the slider stands where the server put it", () => {
  assert.deepEqual(wanted(SERVER, 0.42), { value: 0.4237, states: SERVER.override });
  assert.deepEqual(wanted(SERVER, 0.42 + SAME / 2), { value: 0.4237, states: SERVER.override });
});

test("wanted: the step under the thumb once it moves, or on a step", () => {
  assert.deepEqual(wanted(SERVER, 0.43), { value: 0.43, states: null });
  assert.deepEqual(wanted({ ...SERVER, override: null }, 0.42), { value: 0.42, states: null });
  assert.deepEqual(wanted(null, 0.1), { value: 0.1, states: null });
  assert.equal(wanted(SERVER, null), null);
});

test("stepKey: the same key for the same drawing; null without data or state", () => {
  const spec = { chart: "heatmap", grid: [0, 0.01, 0.02] };
  assert.equal(stepKey(spec, { value: 0.012, states: null }), "step:1");
  assert.equal(stepKey(spec, { value: 0.0149, states: null }), "step:1");
  assert.equal(stepKey(spec, { value: 0.4237, states: SERVER.override }), "value:0.4237");
  const slack = { ...spec, chart: "slack" }; // no state of its own for that value
  assert.equal(stepKey(slack, { value: 0.4237, states: SERVER.override }), null);
  assert.equal(stepKey(undefined, { value: 0.1, states: null }), null);
});
