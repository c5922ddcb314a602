// A live chart, drawn by Plotly.js, with a picture of the step in front of it while the thumb
// is dragged (pictures.js).

import { element } from "./dom.js";
import { chartLayout, liveConfig } from "./figure.js";
import { painted } from "./painted.js";
import { keepPicture, picture, preparePictures } from "./pictures.js";
import { LIVE } from "./registry.js";

export function plotView(host) {
  const front = element("div", "mpq-live-picture", host); // first: its definitions win
  front.setAttribute("aria-hidden", "true"); // the chart behind it stays the one read out
  const plot = element("div", "mpq-live-plot", host);
  const view = { host, plot, width: 0, next: null, busy: false };
  // One Plotly call at a time per chart: a react made while the previous one is still
  // settling (its automatic margins redraw the chart) can keep both redrawing for ever. The
  // newest state waits for the running call; the states in between are skipped.
  const run = (call, after) => {
    view.busy = true;
    Promise.resolve(call())
      .then(after)
      .catch((error) => console.error("mpq live chart", error))
      .finally(() => {
        view.busy = false;
        settle();
      });
  };
  const settle = () => {
    if (view.busy || !LIVE.Plotly) return;
    const width = view.hostWidth;
    if (view.next) {
      const { state, value, key, index } = view.next;
      view.next = null;
      view.width = width;
      view.image = state.config.toImageButtonOptions;
      const layout = chartLayout(state.layout, width);
      run(
        () => LIVE.Plotly.react(plot, state.data, layout, liveConfig(view, state.config)),
        () => {
          host.style.minHeight = "";
          if (view.shown === key) hidePicture(); // the chart shows what the picture did
          painted(view, value);
          keepPicture(view, index);
          preparePictures(view);
        },
      );
    } else if (view.shown && width > 0 && width !== view.width) {
      view.width = width;
      run(() => LIVE.Plotly.relayout(plot, { width }));
    }
  };
  view.paint = (state, value, key, index) => {
    if (!LIVE.Plotly) {
      host.style.minHeight = `${state.layout.height || 0}px`; // no jump when it draws
      return false;
    }
    view.next = { state, value, key, index };
    settle();
    return true;
  };
  // A picture in front of the chart (hidden, not removed: Plotly measures its text as it
  // draws, which a chart out of the layout cannot do).
  const hidePicture = () => {
    if (!view.pictured) return;
    view.pictured = false;
    front.replaceChildren();
    plot.style.visibility = "";
    delete host.dataset.livePicture;
  };
  view.showPicture = (index, value) => {
    const node = picture(view, index);
    if (!node) return false;
    front.replaceChildren(node);
    plot.style.visibility = "hidden";
    view.pictured = true;
    host.dataset.livePicture = String(index);
    painted(view, value);
    return true;
  };
  view.hidePicture = hidePicture;
  view.pictures = new Map();
  // the page's width for the chart, kept here: reading it while drawing would make the
  // browser lay the page out again at every step
  view.hostWidth = host.clientWidth;
  view.picturesWidth = view.hostWidth;
  view.resize = new ResizeObserver((entries) => {
    view.hostWidth = Math.round(entries[entries.length - 1].contentRect.width);
    settle();
    if (view.hostWidth !== view.picturesWidth) preparePictures(view); // at the new width
  });
  view.resize.observe(host);
  return view;
}
