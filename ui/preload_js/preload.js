// Load the code of the elements the other pages show (``data.modules``: file names next to
// Streamlit's own main module) once this page is idle, so that a switch to them finds it ready.
// Each waits for an idle moment and a second after the user's last key or pointer press; the
// browser keeps one copy of a module, so Streamlit later gets the same one.
const QUIET_MS = 1000;

export default function (component) {
  const { data } = component;
  const state = (globalThis.__mpqPreload ??= { started: false, lastInput: performance.now() });
  if (state.started || !data || !Array.isArray(data.modules)) return;
  state.started = true;
  const main = document.querySelector('script[type="module"][src*="/static/js/index."]');
  if (!main) return;
  const input = () => (state.lastInput = performance.now());
  document.addEventListener("keydown", input, true);
  document.addEventListener("pointerdown", input, true);
  const waiting = data.modules.map((name) => new URL(`./${name}`, main.src).href);
  const next = () => {
    const quiet = QUIET_MS - (performance.now() - state.lastInput);
    if (quiet > 0) {
      setTimeout(next, quiet);
      return;
    }
    requestIdleCallback(() => {
      if (performance.now() - state.lastInput < QUIET_MS) {
        next();
        return;
      }
      const url = waiting.shift();
      if (url === undefined) return;
      import(url)
        .catch((error) => console.warn("mpq: could not preload", url, error))
        .finally(next);
    });
  };
  next();
}
