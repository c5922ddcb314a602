// Which step of its slider a view shows. No page here: node's tests import this module.

export const SAME = 1e-9; // two slider values closer than this are the same step

// The index of the step of ``grid`` (ascending) nearest ``value``; the lower one when two are
// as near. The twin of ui.live._nearest; tests/js checks it against that function's answers.
export function nearest(grid, value) {
  let lo = 0;
  let hi = grid.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (grid[mid] <= value) lo = mid;
    else hi = mid;
  }
  return Math.abs(grid[hi] - value) < Math.abs(grid[lo] - value) ? hi : lo;
}

// What a group's views draw with the slider at ``at`` (null: unknown) and the server's word
// ``server``: the server's own state while the slider stands where the server put it for a
// value off the steps (releasing the thumb there keeps that value); else the step under the
// thumb. ``states`` is null for a step, else each view's packed state of ``value``.
export function wanted(server, at) {
  if (at === null) return null;
  if (server && server.override && Math.abs(at - server.slider_value) < SAME) {
    return { value: server.value, states: server.override };
  }
  return { value: at, states: null };
}

// The key of what a view of data ``spec`` draws for ``want`` (null when it has nothing for
// it): the same key is the same drawing.
export function stepKey(spec, want) {
  if (!spec) return null;
  if (want.states) return want.states[spec.chart] ? `value:${want.value}` : null;
  return `step:${nearest(spec.grid, want.value)}`;
}
