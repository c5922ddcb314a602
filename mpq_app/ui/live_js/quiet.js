// Work the user did not ask for (pictures, preloading other pages' code) waits for a quiet
// moment: an idle moment of the page at least a second after the user's last key or pointer
// press or release (the server is then answering it: a rerun, a download). The time of the
// last input is the page's, shared by the components that wait (the views and the preload).
export const QUIET = (globalThis.__mpqQuiet ??= { lastInput: -Infinity, ms: 1000 });

if (!QUIET.listening) {
  QUIET.listening = true;
  const input = () => (QUIET.lastInput = performance.now());
  for (const type of ["keydown", "pointerdown", "pointerup", "pointercancel"]) {
    document.addEventListener(type, input, true);
  }
}

// Milliseconds until the page is quiet (zero or less: it is).
function untilQuiet() {
  return QUIET.ms - (performance.now() - QUIET.lastInput);
}

// ``task(deadline)`` in the first idle moment of a quiet page (an id, true while waiting).
export function whenQuiet(task) {
  const wait = untilQuiet();
  if (wait > 0) return setTimeout(() => whenQuiet(task), wait);
  return requestIdleCallback((deadline) => (untilQuiet() > 0 ? whenQuiet(task) : task(deadline)));
}
