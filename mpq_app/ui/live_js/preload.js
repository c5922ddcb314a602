// Load the code of the elements the other pages show (``data.modules``: file names next to
// Streamlit's own main module) once this page is quiet (quiet.js), one module per quiet
// moment, so that a switch to them finds it ready. The browser keeps one copy of a module, so
// Streamlit later gets the same one.

import { QUIET, whenQuiet } from "./quiet.js";

export default function (component) {
  const { data } = component;
  if (globalThis.__mpqPreloading || !data || !Array.isArray(data.modules)) return;
  globalThis.__mpqPreloading = true;
  const main = document.querySelector('script[type="module"][src*="/static/js/index."]');
  if (!main) return;
  const waiting = data.modules.map((name) => new URL(`./${name}`, main.src).href);
  const next = () => {
    const url = waiting.shift();
    if (url === undefined) {
      globalThis.__mpqPreloaded = true; // every module and what it imports has loaded
      return;
    }
    import(url)
      .catch((error) => console.warn("mpq: could not preload", url, error))
      .finally(() => whenQuiet(next));
  };
  setTimeout(() => whenQuiet(next), QUIET.ms); // the page's own first drawing goes first
}
