// The live view component (ui/live.py: mount): one chart (drawn by Plotly.js) or the headline
// cards, holding the state of every step of the slider it follows (of each slider, with
// several limits); it follows the slider (follow.js).
//
// Text from files (layer and model names) only reaches the page as data: Plotly draws labels
// as text (the figures escape file text, mpq_core.charts.layout.plain) and the cards set
// textContent; nothing here builds HTML from data.

import { cardsView } from "./cards.js";
import { plotView } from "./chart.js";
import { element } from "./dom.js";
import { redraw, redrawAll } from "./follow.js";
import { inflateText } from "./inflate.js";
import { dropPictures, putEaselAway } from "./pictures.js";
import { LIVE, liveGroup, onRedraw } from "./registry.js";

// A view of several sliders (several limits) holds the steps of each: ``data.groups``, one
// part per slider. It shows the part of the slider that moved last (LIVE.active), else the
// one it showed, else its first; ``view.spec`` is that part, as a view of one slider has it.
function groupNames(data) {
  return data.groups ? data.groups.map((part) => part.group) : [data.group];
}

function partOf(data, name) {
  if (!data.groups) return data;
  const part = data.groups.find((p) => p.group === name) ?? data.groups[0];
  return { kind: data.kind, chart: data.chart, ...part };
}

function forget(view) {
  view.shown = null;
  if (view.pictures) {
    if (view.hidePicture) view.hidePicture();
    dropPictures(view);
  }
}

// The views that follow group ``name`` and hold its steps show them from now on.
function activate(name) {
  LIVE.active = name;
  for (const view of liveGroup(name).views.values()) {
    if (view.group === name || !view.data || !view.data.groups) continue;
    view.spec = partOf(view.data, name);
    view.group = name;
    forget(view);
  }
}

function attach(host, data, text) {
  let view = host.__mpqView;
  if (!view || view.kind !== data.kind) {
    host.replaceChildren();
    view = data.kind === "cards" ? cardsView(host) : plotView(host);
    view.kind = data.kind;
    host.__mpqView = view;
  }
  const names = groupNames(data);
  for (const [name, group] of LIVE.groups) {
    if (!names.includes(name)) group.views.delete(host);
  }
  if (!view.seen) {
    view.visible = true; // until the observer says otherwise
    view.seen = new IntersectionObserver(
      (entries) => {
        view.visible = entries[entries.length - 1].isIntersecting;
        const group = view.group ? liveGroup(view.group) : null;
        if (view.visible && group) redraw(group.name);
      },
      { rootMargin: "0px" },
    );
    view.seen.observe(host);
  }
  if (view.text !== text) {
    // new data: its steps are drawn again, the chart first, the pictures after it
    view.text = text;
    view.data = data;
    const shows = [LIVE.active, view.group].find((name) => names.includes(name));
    view.spec = partOf(data, shows ?? names[0]);
    forget(view);
  }
  view.group = view.spec.group;
  for (const name of names) {
    const group = liveGroup(name);
    group.slider = group.slider ?? partOf(data, name).slider;
    group.views.set(host, view);
  }
  redraw(view.group);
}

function detach(host) {
  const view = host.__mpqView;
  if (!view) return;
  for (const group of LIVE.groups.values()) group.views.delete(host);
  if (view.resize) view.resize.disconnect();
  if (view.pictures) {
    dropPictures(view);
    if (view.easel) putEaselAway(view);
  }
  if (view.seen) view.seen.disconnect();
  host.__mpqView = null;
}

// Once per page: what makes the views follow.
function listen() {
  // Every movement of a slider's thumb (pointer or keyboard) changes its range input's value
  // attribute before anything is sent to the server: redraw the groups that follow it.
  LIVE.observer = new MutationObserver((mutations) => {
    for (const mutation of mutations) {
      const input = mutation.target;
      if (!(input instanceof HTMLInputElement) || input.type !== "range") continue;
      for (const group of LIVE.groups.values()) {
        if (group.slider && input.closest(`.st-key-${CSS.escape(group.slider)}`)) {
          // a thumb that moved (not a slider drawn again at its value) takes the views
          const last = group.seen ?? (group.server ? group.server.slider_value : undefined);
          const moved = last !== undefined && Number(last) !== Number(input.value);
          group.seen = input.value;
          if (moved && LIVE.active !== group.name) activate(group.name);
          redraw(group.name);
        }
      }
    }
  });
  // a pointer held down anywhere (on the thumb, in practice) makes a drag
  LIVE.pointers = 0;
  document.addEventListener("pointerdown", () => (LIVE.pointers += 1), true);
  const release = () => {
    LIVE.pointers = 0;
    redrawAll(); // the views left behind
  };
  document.addEventListener("pointerup", release, true);
  // a key on a slider's thumb: its group's next drawing is a key step (follow.js: draw)
  document.addEventListener(
    "keydown",
    (event) => {
      if (event.target instanceof Element && event.target.closest('[role="slider"]')) {
        LIVE.keyStep = true;
      }
    },
    true,
  );
  document.addEventListener("pointercancel", release, true);
  LIVE.observer.observe(document.body, {
    subtree: true,
    attributes: true,
    attributeFilter: ["value", "aria-valuetext"],
  });
  // the server's word on a group (state.js), Plotly.js ready (plotly.js)
  onRedraw((name) => (name === null ? redrawAll() : redraw(name)));
}

if (!LIVE.observer) listen();

export default function (component) {
  const { data, parentElement } = component;
  let host = parentElement.querySelector(":scope > .mpq-live");
  if (!host) {
    host = element("div", "mpq-live", parentElement);
  }
  const mount = {};
  host.__mpqMount = mount; // the newest data wins if two arrive close together
  if (data) {
    inflateText(data).then((text) => {
      if (host.__mpqMount === mount) attach(host, JSON.parse(text), text);
    });
  }
  return () => detach(host);
}
