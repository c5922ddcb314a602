// Once a view has drawn the state of a value, the page says so: tests and benchmarks read it.
// No page here (the view's host is only written to): node's tests import this module.

const KEEP_PAINTS = 2000; // times of each view's last paints (for measuring)

export function painted(view, value) {
  const host = view.host;
  host.dataset.liveValue = String(value);
  host.dataset.liveDraws = String(Number(host.dataset.liveDraws || 0) + 1);
  view.paints = view.paints ?? [];
  view.paints.push(performance.now());
  if (view.paints.length > KEEP_PAINTS) view.paints.splice(0, KEEP_PAINTS / 2);
}
