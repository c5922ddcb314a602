// The views of a group follow its slider: at each movement of the thumb they draw the step
// it shows, without asking the server; for a value between two steps (the exact box) they
// draw the state the server sent for that value.

import { unpack } from "./packed.js";
import { LIVE, liveGroup } from "./registry.js";
import { nearest, stepKey, wanted } from "./steps.js";

function sliderInput(key) {
  return document.querySelector(`.st-key-${CSS.escape(key)} input[type="range"]`);
}

function sliderValue(group) {
  const input = group.slider ? sliderInput(group.slider) : null;
  const value = input ? parseFloat(input.value) : NaN;
  return Number.isFinite(value) ? value : null;
}

// What the group's views draw now (steps.js: wanted).
function target(group) {
  const server = group.server;
  return wanted(server, sliderValue(group) ?? (server ? server.slider_value : null));
}

// The views follow each movement, the longest-waiting first, for at most FRAME_MS a frame (the
// rest in the next frames, so the thumb keeps moving smoothly). While a pointer drags, only
// the views on screen do: the others catch up when the thumb rests (the page has a moment to
// spare) and at once when they scroll into view. A key step or the server's word moves them
// all. A drag and a key step show each chart's picture of the step where it has one (one
// frame for them all); after a key step the charts then draw the step themselves, in the
// frames that follow.
const FRAME_MS = 24;

function draw(name) {
  const group = liveGroup(name);
  group.frame = 0;
  const want = target(group);
  if (!want) return;
  group.want = want;
  const start = performance.now();
  const dragging = LIVE.pointers > 0;
  const key = !dragging && LIVE.keyStep;
  LIVE.keyStep = false;
  const pictures = dragging || key;
  const mine = [...group.views.values()].filter((view) => view.group === name);
  const waiting = mine
    .filter((view) => (view.visible || !dragging) && behind(view, want, pictures))
    .sort((a, b) => b.visible - a.visible || (a.lastShown ?? 0) - (b.lastShown ?? 0));
  for (const view of waiting) {
    if (performance.now() - start > FRAME_MS) {
      redraw(name); // the others in the next frame
      break;
    }
    if (show(view, want, pictures)) view.lastShown = performance.now();
  }
  if (key) redraw(name); // the charts draw the step themselves from the next frame
  group.draws += 1;
  const hidden = mine.some((view) => !view.visible);
  if (dragging && hidden && !group.idle) {
    group.idle = requestIdleCallback((deadline) => catchUp(name, deadline));
  }
}

// One view behind per idle moment, only when the moment is long enough for a chart: while
// the thumb moves the moments are short and the views on screen keep the page.
const IDLE_MS = 15;

function catchUp(name, deadline) {
  const group = liveGroup(name);
  group.idle = 0;
  if (!group.want) return;
  for (const view of group.views.values()) {
    const dragging = LIVE.pointers > 0;
    if (view.group !== name || !behind(view, group.want, dragging)) continue;
    if (deadline.timeRemaining() < IDLE_MS && !deadline.didTimeout) {
      group.idle = requestIdleCallback((next) => catchUp(name, next));
      return;
    }
    show(view, group.want, dragging);
  }
}

// Group ``name``'s views draw what its slider shows, in the next frame.
export function redraw(name) {
  const group = liveGroup(name);
  if (!group.frame) group.frame = requestAnimationFrame(() => draw(name));
}

export function redrawAll() {
  for (const name of LIVE.groups.keys()) redraw(name);
}

// Whether ``view`` does not show ``want`` yet; while pictures may stand for the charts (a
// drag, a key step's first frame), a picture of the step counts as shown (the chart itself
// draws it on release, or in the frames after the key step).
function behind(view, want, pictures) {
  const key = stepKey(view.spec, want);
  return key !== null && (view.shown !== key || (!pictures && view.pictured));
}

function show(view, want, pictures) {
  const key = stepKey(view.spec, want);
  if (key === null) return false;
  const index = want.states ? null : nearest(view.spec.grid, want.value);
  if (pictures && index !== null && view.showPicture) {
    if (view.shown === key) return false;
    if (view.showPicture(index, want.value)) {
      view.shown = key;
      return true;
    }
  } else if (view.shown === key && !view.pictured) {
    return false;
  }
  const state = want.states
    ? unpack(want.states[view.spec.chart], 0)
    : unpack(view.spec.table, index);
  if (!view.paint(state, want.value, key, index)) return false;
  view.shown = key;
  return true;
}
