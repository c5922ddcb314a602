// What Plotly gets for a chart's state: its layout at the page's width and its config with
// our camera button. No page here (Plotly comes from the registry): node's tests import it.

import { LIVE } from "./registry.js";

// The layout Plotly gets for a state: a copy (Plotly writes into the layout it draws; the
// template is only read, so it is shared), as wide as the page gives the chart.
export function chartLayout(stateLayout, width) {
  const { template, ...own } = stateLayout;
  const layout = structuredClone(own);
  if (template !== undefined) layout.template = template;
  // meta only names the export file and Plotly draws nothing of it, but a new meta redraws
  // the whole chart: the file name goes to the camera button instead
  delete layout.meta;
  if (width > 0) layout.width = width; // stretched to the page, as st.plotly_chart does
  return layout;
}

// The step's config with one difference: the camera button saves the image options of the
// state on show (print size, scale, the file name of its budget) from a button of ours, so
// that the config Plotly sees stays the same from step to step (a new config makes Plotly
// build the chart again from nothing).
export function liveConfig(view, config) {
  const { toImageButtonOptions, ...rest } = config;
  const key = JSON.stringify(rest);
  if (view.config && view.configKey === key) return view.config;
  const Plotly = LIVE.Plotly;
  const camera = {
    name: "toImageLive",
    title: (toImageButtonOptions || {}).format === "svg" ? "Download plot" : "Download plot as a PNG",
    icon: Plotly.Icons.camera,
    click: (gd) => Plotly.downloadImage(gd, { ...view.image }),
  };
  view.configKey = key;
  view.config = {
    ...rest,
    modeBarButtonsToRemove: [...(rest.modeBarButtonsToRemove || []), "toImage"],
    modeBarButtonsToAdd: [...(rest.modeBarButtonsToAdd || []), camera],
  };
  return view.config;
}
