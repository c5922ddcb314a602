// The page's registry (mpq_app/ui/live_js/registry.js): one per page, groups made once, requests to
// redraw delivered to the views.
import assert from "node:assert/strict";
import { test } from "node:test";

import { LIVE, askRedraw, liveGroup, onRedraw } from "../../mpq_app/ui/live_js/registry.js";
import { painted } from "../../mpq_app/ui/live_js/painted.js";

test("the registry is the page's __mpqLive (tests and benchmarks read it)", () => {
  assert.equal(globalThis.__mpqLive, LIVE);
  assert.ok(LIVE.groups instanceof Map);
});

test("a group is made once, with no slider and no server state yet", () => {
  const group = liveGroup("budget");
  assert.deepEqual(
    { ...group, views: [...group.views] },
    { name: "budget", slider: null, server: null, views: [], frame: 0, draws: 0 },
  );
  assert.equal(liveGroup("budget"), group);
  assert.equal(LIVE.groups.get("budget"), group);
});

test("askRedraw reaches every onRedraw handler: a group's name, or null for all", () => {
  const asked = [];
  onRedraw((name) => asked.push(name));
  askRedraw("budget");
  askRedraw();
  assert.deepEqual(asked, ["budget", null]);
});

test("painted: the value drawn and the count of draws on the host; the last paints' times", () => {
  const view = { host: { dataset: {} } };
  painted(view, 0.42);
  painted(view, 0.43);
  assert.deepEqual(view.host.dataset, { liveValue: "0.43", liveDraws: "2" });
  assert.equal(view.paints.length, 2);
  for (let i = 0; i < 2000; i++) painted(view, 0.5);
  assert.ok(view.paints.length <= 2000);
  assert.equal(view.host.dataset.liveDraws, "2002");
});
