// The library element (ui/live.py: plotly_library): Plotly.js from the plotly Python package,
// sent once as gzip bytes (no CDN). It runs as a page script from an in-memory blob, then the
// views get window.Plotly (the registry's LIVE.Plotly) and draw.

import { inflateText } from "./inflate.js";
import { LIVE, askRedraw } from "./registry.js";

function ready(Plotly) {
  LIVE.Plotly = Plotly;
  askRedraw();
}

export default function (component) {
  const { data } = component;
  if (LIVE.plotlyStarted || !data) return;
  LIVE.plotlyStarted = true;
  if (globalThis.Plotly) {
    ready(globalThis.Plotly);
    return;
  }
  inflateText(data).then((source) => {
    const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    const script = document.createElement("script");
    script.src = url;
    script.onload = () => {
      URL.revokeObjectURL(url);
      ready(globalThis.Plotly);
    };
    script.onerror = () => {
      LIVE.plotlyStarted = false; // the next mount tries again
      URL.revokeObjectURL(url);
    };
    document.head.appendChild(script);
  });
}
