// Plotly.js from the plotly Python package, sent once as gzip bytes (no CDN): run it as a
// page script from an in-memory blob, then hand window.Plotly to the views.
export default function (component) {
  const { data } = component;
  if (LIVE.plotlyStarted || !data) return;
  LIVE.plotlyStarted = true;
  if (globalThis.Plotly) {
    LIVE.resolvePlotly(globalThis.Plotly);
    return;
  }
  inflateText(data).then((source) => {
    const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    const script = document.createElement("script");
    script.src = url;
    script.onload = () => {
      URL.revokeObjectURL(url);
      LIVE.resolvePlotly(globalThis.Plotly);
    };
    script.onerror = () => {
      LIVE.plotlyStarted = false; // the next mount tries again
      URL.revokeObjectURL(url);
    };
    document.head.appendChild(script);
  });
}
