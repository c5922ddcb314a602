// Shared by the three live components (each is its own module): one registry per page.
// A group is the set of views that follow one slider; the server's state for it, the views
// and the slider's widget key live here, so a chart, the state and Plotly.js can arrive in
// any order.
const LIVE = (globalThis.__mpqLive ??= {
  groups: new Map(),
  plotly: null, // a promise of window.Plotly once the library element asked for it
  redraw: null, // set by the view module: redraw(groupName)
});

if (!LIVE.plotly) {
  LIVE.plotly = new Promise((resolve) => {
    LIVE.resolvePlotly = resolve;
  });
}

function liveGroup(name) {
  let group = LIVE.groups.get(name);
  if (!group) {
    group = { name, slider: null, server: null, views: new Map(), frame: 0, draws: 0 };
    LIVE.groups.set(name, group);
  }
  return group;
}

// Streamlit hands bytes over as a Uint8Array; ours are gzip-compressed UTF-8 text.
async function inflateText(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).text();
}
