// What Plotly gets for a state (mpq_app/ui/live_js/figure.js): the layout at the page's width and the
// config with our camera button.
import assert from "node:assert/strict";
import { test } from "node:test";

import { chartLayout, liveConfig } from "../../mpq_app/ui/live_js/figure.js";
import { LIVE } from "../../mpq_app/ui/live_js/registry.js";

const TEMPLATE = { layout: { font: { size: 12 } } };
const LAYOUT = {
  width: 560,
  height: 300,
  meta: { file: "heatmap_m0.42" },
  title: { text: "a" },
  template: TEMPLATE,
};

test("chartLayout: a copy at the page's width, the template shared, no meta", () => {
  const layout = chartLayout(LAYOUT, 812);
  assert.deepEqual(layout, { width: 812, height: 300, title: { text: "a" }, template: TEMPLATE });
  assert.equal(layout.template, TEMPLATE);
  layout.title.text = "changed by Plotly";
  assert.equal(LAYOUT.title.text, "a");
  assert.equal(LAYOUT.meta.file, "heatmap_m0.42");
});

test("chartLayout: no width from the page yet keeps the state's; no template, none added", () => {
  const { template, ...plain } = LAYOUT;
  assert.equal(chartLayout(LAYOUT, 0).width, 560);
  assert.equal("template" in chartLayout(plain, 100), false);
});

function withPlotly(run) {
  const downloads = [];
  LIVE.Plotly = {
    Icons: { camera: "camera icon" },
    downloadImage: (gd, options) => downloads.push([gd, options]),
  };
  try {
    run(downloads);
  } finally {
    LIVE.Plotly = null;
  }
}

test("liveConfig: Plotly's camera button replaced by ours, which saves the view's image", () => {
  withPlotly((downloads) => {
    const view = { image: { format: "png", filename: "heatmap_m0.42", scale: 2 } };
    const config = {
      displaylogo: false,
      modeBarButtonsToRemove: ["lasso2d"],
      toImageButtonOptions: view.image,
    };
    const live = liveConfig(view, config);
    assert.deepEqual(live.modeBarButtonsToRemove, ["lasso2d", "toImage"]);
    assert.equal(live.toImageButtonOptions, undefined);
    assert.equal(live.displaylogo, false);
    const [camera] = live.modeBarButtonsToAdd;
    assert.equal(camera.name, "toImageLive");
    assert.equal(camera.title, "Download plot as a PNG");
    assert.equal(camera.icon, "camera icon");
    camera.click("gd");
    assert.deepEqual(downloads, [["gd", view.image]]);
    assert.notEqual(downloads[0][1], view.image); // a copy: Plotly may write into it
  });
});

test("liveConfig: the same config object while only the image options change", () => {
  withPlotly(() => {
    const view = {};
    const first = liveConfig(view, { responsive: true, toImageButtonOptions: { format: "svg" } });
    assert.equal(first.modeBarButtonsToAdd[0].title, "Download plot");
    const png = { responsive: true, toImageButtonOptions: { format: "png" } };
    assert.equal(liveConfig(view, png), first);
    assert.notEqual(liveConfig(view, { responsive: false }), first);
  });
});
