// A view's states as the server packs them: every step of the slider in one table, each
// distinct value written once (mpq_core.charts.live.pack_states, whose docstring shows the
// form). ``unpack`` is the twin of mpq_core.charts.live.unpack_state; tests/js checks it
// against that function's answers (tests/js/fixtures, written by scripts/gen_js_fixtures.py).
// No page here: node's tests import this module.

// Step ``index`` of a parsed packed table, as the server had it.
export function unpack(table, index) {
  const { values, objects, fields } = table;
  const build = (ref) => {
    const out = {};
    const refs = objects[ref];
    for (const key in refs) out[key] = values[refs[key]];
    return out;
  };
  const step = table.steps[index];
  const state = {};
  for (const name in fields) {
    const kind = fields[name];
    const ref = step[name];
    state[name] = kind === "object" ? build(ref) : kind === "objects" ? ref.map(build) : values[ref];
  }
  return state;
}
