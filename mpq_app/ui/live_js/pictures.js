// Pictures: each step of a chart as Plotly drew it, prepared while the page is idle, so that a
// drag can show any step at once. Plotly needs 10-20 ms to redraw one chart here, too long
// for five charts to follow the thumb; a picture is Plotly's own drawing of that step (its
// SVG, copied), shown in front of the chart while the pointer is down. On release the chart
// itself draws the step where the thumb stopped, and the picture goes.
//
// Pictures are drawn off screen on an easel of the view's own (the same width, layout and
// config as the chart), the views on screen first and the steps nearest the slider first, one
// per quiet moment (quiet.js) long enough for it, never while a pointer is down, so that they
// take no time from what the user asked for. A step the chart itself draws is kept as its
// picture too. They hold for one state table at one width: new data or a new width starts
// them again.

import { element } from "./dom.js";
import { chartLayout, liveConfig } from "./figure.js";
import { unpack } from "./packed.js";
import { whenQuiet } from "./quiet.js";
import { LIVE, liveGroup } from "./registry.js";
import { nearest } from "./steps.js";

const PICTURE_MS = 20; // an idle moment shorter than this leaves the next picture for later,
const SHORT_IDLES = 8; // unless the view has waited through this many: a page that draws a
// frame every 16 ms (something on it animates) has idle moments of 16 ms at most, and its
// pictures would otherwise wait for ever

// The step ``index`` of ``view``'s chart, if its picture is ready for the chart's width.
export function picture(view, index) {
  if (!view.pictures || view.picturesWidth !== view.hostWidth) return null;
  return view.pictures.get(index) ?? null;
}

export function dropPictures(view) {
  if (!view.pictures) return;
  view.pictures.clear();
  view.picturesWidth = view.hostWidth;
  view.host.dataset.livePictures = "0";
}

// One picture at a time per view: its easel is drawn by one Plotly call at a time (two
// calls on one element can keep each other redrawing for ever, as chart.js notes), so a
// request while one is drawn waits for it (its end asks again).
export function preparePictures(view) {
  if (view.pictures && !view.preparing && !view.drawingPicture) {
    view.preparing = whenQuiet((deadline) => prepareOne(view, deadline));
  }
}

// The missing step nearest the one the slider shows (null when every step has its picture).
function nextMissing(view) {
  const steps = view.spec.grid.length;
  const group = view.group ? liveGroup(view.group) : null;
  const at = group && group.want ? group.want.value : view.spec.grid[0];
  const centre = nearest(view.spec.grid, at);
  for (let distance = 0; distance < steps; distance++) {
    for (const index of [centre - distance, centre + distance]) {
      if (index >= 0 && index < steps && !view.pictures.has(index)) return index;
    }
  }
  return null;
}

function prepareOne(view, deadline) {
  view.preparing = 0;
  if (!LIVE.Plotly || !view.spec || !view.host.isConnected || !(view.hostWidth > 0)) return;
  if (view.picturesWidth !== view.hostWidth) dropPictures(view);
  const index = nextMissing(view);
  if (index === null) {
    putEaselAway(view);
    return;
  }
  const short = deadline.timeRemaining() < PICTURE_MS && !deadline.didTimeout;
  view.shortIdles = short ? (view.shortIdles ?? 0) + 1 : 0;
  if (LIVE.pointers > 0 || (short && view.shortIdles < SHORT_IDLES) || waitsForOthers(view)) {
    preparePictures(view);
    return;
  }
  view.shortIdles = 0;
  const { spec, hostWidth: width } = view;
  const state = unpack(spec.table, index);
  const easel = view.easel ?? newEasel(view);
  easel.style.width = `${width}px`;
  const config = { ...liveConfig(view, state.config), staticPlot: true };
  view.drawingPicture = true;
  Promise.resolve()
    .then(() => LIVE.Plotly.react(easel, state.data, chartLayout(state.layout, width), config))
    .then(() => {
      // still the chart's data and width: keep it
      if (view.spec === spec && view.picturesWidth === width && view.hostWidth === width) {
        addPicture(view, index, easel);
      }
    })
    .catch((error) => console.error("mpq live picture", error))
    .finally(() => {
      view.drawingPicture = false;
      preparePictures(view);
    });
}

// A view off screen waits while a view of its group on screen still misses pictures.
function waitsForOthers(view) {
  if (view.visible || !view.group) return false;
  for (const other of liveGroup(view.group).views.values()) {
    if (other.group !== view.group || !other.visible || !other.pictures) continue;
    if (nextMissing(other) !== null) return true;
  }
  return false;
}

// The chart's own drawing of step ``index`` as its picture (when it has none yet).
export function keepPicture(view, index) {
  if (index === null || view.pictures.has(index)) return;
  if (view.picturesWidth !== view.hostWidth || view.width !== view.hostWidth) return;
  addPicture(view, index, view.plot);
}

// A copy of what ``drawing`` (the easel or the chart) shows, as the picture of step ``index``.
function addPicture(view, index, drawing) {
  view.pictures.set(index, copyDrawing(drawing));
  view.host.dataset.livePictures = String(view.pictures.size);
}

// The easel lies after every view in the page: where two pictures' SVG definitions (clip
// paths, bar patterns) share a name, the one shown comes first and is the one used.
function newEasel(view) {
  const easel = document.createElement("div");
  easel.className = "mpq-live-easel";
  easel.setAttribute("aria-hidden", "true");
  document.body.appendChild(easel);
  view.easel = easel;
  return easel;
}

export function putEaselAway(view) {
  if (!view.easel) return;
  LIVE.Plotly.purge(view.easel);
  view.easel.remove();
  view.easel = null;
}

// A copy of a Plotly drawing, in elements of Plotly's classes (its page styles lay the
// drawing's layers on top of each other).
function copyDrawing(drawing) {
  const copy = element("div", "js-plotly-plot");
  copy.appendChild(drawing.querySelector(".plot-container").cloneNode(true));
  // no buttons, no hover label the chart showed as it was copied, and none of the chart's
  // transparent surfaces that take the pointer for zooming and panning
  const parts = ".modebar-container, .hoverlayer > *, .draglayer";
  for (const node of copy.querySelectorAll(parts)) node.remove();
  return copy;
}
