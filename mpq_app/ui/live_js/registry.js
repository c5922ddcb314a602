// What the live components share on the page. Streamlit runs each component's script as a
// module of its own (the views, the state element, the library element), so what they share
// lives in one registry per page: data only, no functions (each component has its own copy
// of the code it imports). A group is the set of views that follow one slider; the server's
// state for it, the views and the slider's widget key live here, so a chart, the state and
// Plotly.js can arrive in any order. Tests and benchmarks read it as ``__mpqLive``.
//
// No page here: node's tests import this module.

export const LIVE = (globalThis.__mpqLive ??= {
  groups: new Map(),
  Plotly: null, // window.Plotly once the library element has run it
  events: new EventTarget(), // the components' requests to the views (askRedraw)
});

export function liveGroup(name) {
  let group = LIVE.groups.get(name);
  if (!group) {
    group = { name, slider: null, server: null, views: new Map(), frame: 0, draws: 0 };
    LIVE.groups.set(name, group);
  }
  return group;
}

const REDRAW = "mpq-redraw";

// Ask the views to draw group ``name`` again (every group when null): the state and library
// elements ask, the views' module answers (onRedraw).
export function askRedraw(name = null) {
  LIVE.events.dispatchEvent(new CustomEvent(REDRAW, { detail: name }));
}

// ``handler(name)`` at each askRedraw (``name`` null for every group).
export function onRedraw(handler) {
  LIVE.events.addEventListener(REDRAW, (event) => handler(event.detail));
}
