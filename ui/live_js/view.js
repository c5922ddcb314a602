// A live view: one chart (drawn by Plotly.js) or the headline cards of a group, holding the
// state of every step of the group's slider. It draws the step the slider shows at each
// movement of the thumb, without asking the server; for a value between two steps (the exact
// box) it draws the state the server sent for that value.
//
// Text from files (layer and model names) only reaches the page as data: Plotly draws labels
// as text (the figures escape file text, mpq_core.charts.layout.plain) and the cards set
// textContent; nothing here builds HTML from data.

const SAME = 1e-9; // two slider values closer than this are the same step
const KEEP_PAINTS = 2000; // times of each view's last paints (for measuring)

function unpack(table, index) {
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

function nearest(grid, value) {
  let lo = 0;
  let hi = grid.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (grid[mid] <= value) lo = mid;
    else hi = mid;
  }
  return Math.abs(grid[hi] - value) < Math.abs(grid[lo] - value) ? hi : lo;
}

function sliderInput(key) {
  return document.querySelector(`.st-key-${CSS.escape(key)} input[type="range"]`);
}

function sliderValue(group) {
  const input = group.slider ? sliderInput(group.slider) : null;
  const value = input ? parseFloat(input.value) : NaN;
  return Number.isFinite(value) ? value : null;
}

// The server's own state while the slider stands where the server put it for a value off
// the steps (releasing the thumb there keeps that value); else the step under the thumb.
function target(group) {
  const server = group.server;
  const at = sliderValue(group) ?? (server ? server.slider_value : null);
  if (at === null) return null;
  if (server && server.override && Math.abs(at - server.slider_value) < SAME) {
    return { value: server.value, states: server.override };
  }
  return { value: at, states: null };
}

// The views follow each movement, the longest-waiting first, for at most FRAME_MS a frame (the
// rest in the next frames, so the thumb keeps moving smoothly). While a pointer drags, only
// the views on screen do: the others catch up when the thumb rests (the page has a moment to
// spare) and at once when they scroll into view. A key step or the server's word moves them
// all.
const FRAME_MS = 24;

function draw(name) {
  const group = liveGroup(name);
  group.frame = 0;
  const want = target(group);
  if (!want) return;
  group.want = want;
  const start = performance.now();
  const dragging = LIVE.pointers > 0;
  const waiting = [...group.views.values()]
    .filter((view) => (view.visible || !dragging) && behind(view, want, dragging))
    .sort((a, b) => b.visible - a.visible || (a.lastShown ?? 0) - (b.lastShown ?? 0));
  for (const view of waiting) {
    if (performance.now() - start > FRAME_MS) {
      LIVE.redraw(name); // the others in the next frame
      break;
    }
    if (show(view, want)) view.lastShown = performance.now();
  }
  group.draws += 1;
  const hidden = [...group.views.values()].some((view) => !view.visible);
  if (dragging && hidden && !group.idle) {
    group.idle = requestIdleCallback((deadline) => catchUp(name, deadline));
  }
}

// One view behind per idle moment, only when the moment is long enough for a chart: while
// the thumb moves the moments are short and the views on screen keep the page.
const IDLE_MS = 15;

function catchUp(name, deadline) {
  const group = liveGroup(name);
  group.idle = 0;
  if (!group.want) return;
  for (const view of group.views.values()) {
    if (!behind(view, group.want, LIVE.pointers > 0)) continue;
    if (deadline.timeRemaining() < IDLE_MS && !deadline.didTimeout) {
      group.idle = requestIdleCallback((next) => catchUp(name, next));
      return;
    }
    show(view, group.want);
  }
}

LIVE.redraw = (name) => {
  const group = liveGroup(name);
  if (!group.frame) group.frame = requestAnimationFrame(() => draw(name));
};

// The key of what ``view`` draws for ``want`` (null when it has nothing for it).
function stepKey(view, want) {
  if (!view.spec) return null;
  if (want.states) return want.states[view.spec.chart] ? `value:${want.value}` : null;
  return `step:${nearest(view.spec.grid, want.value)}`;
}

// Whether ``view`` does not show ``want`` yet; while a pointer drags, a picture of the step
// counts as shown (the chart itself draws it on release).
function behind(view, want, dragging) {
  const key = stepKey(view, want);
  return key !== null && (view.shown !== key || (!dragging && view.pictured));
}

function show(view, want) {
  const key = stepKey(view, want);
  if (key === null) return false;
  const index = want.states ? null : nearest(view.spec.grid, want.value);
  if (LIVE.pointers > 0 && index !== null && view.showPicture) {
    if (view.shown === key) return false;
    if (view.showPicture(index, want.value)) {
      view.shown = key;
      return true;
    }
  } else if (view.shown === key && !view.pictured) {
    return false;
  }
  const state = want.states
    ? unpack(want.states[view.spec.chart], 0)
    : unpack(view.spec.table, index);
  if (!view.paint(state, want.value, key, index)) return false;
  view.shown = key;
  return true;
}

// Once a view has drawn the state of ``value``: the page says so (tests and benchmarks read it).
function painted(view, value) {
  const host = view.host;
  host.dataset.liveValue = String(value);
  host.dataset.liveDraws = String(Number(host.dataset.liveDraws || 0) + 1);
  view.paints = view.paints ?? [];
  view.paints.push(performance.now());
  if (view.paints.length > KEEP_PAINTS) view.paints.splice(0, KEEP_PAINTS / 2);
}

// --- charts --------------------------------------------------------------------------------

// The layout Plotly gets for a state: a copy (Plotly writes into the layout it draws; the
// template is only read, so it is shared), as wide as the page gives the chart.
function chartLayout(stateLayout, width) {
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
function liveConfig(view, config) {
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

function plotView(host) {
  const front = element("div", "mpq-live-picture", host); // first: its definitions win
  front.setAttribute("aria-hidden", "true"); // the chart behind it stays the one read out
  const plot = element("div", "mpq-live-plot", host);
  const view = { host, plot, width: 0, next: null, busy: false };
  // One Plotly call at a time per chart: a react made while the previous one is still
  // settling (its automatic margins redraw the chart) can keep both redrawing for ever. The
  // newest state waits for the running call; the states in between are skipped.
  const run = (call, after) => {
    view.busy = true;
    Promise.resolve(call())
      .then(after)
      .catch((error) => console.error("mpq live chart", error))
      .finally(() => {
        view.busy = false;
        settle();
      });
  };
  const settle = () => {
    if (view.busy || !LIVE.Plotly) return;
    const width = view.hostWidth;
    if (view.next) {
      const { state, value, key, index } = view.next;
      view.next = null;
      view.width = width;
      view.image = state.config.toImageButtonOptions;
      const layout = chartLayout(state.layout, width);
      run(
        () => LIVE.Plotly.react(plot, state.data, layout, liveConfig(view, state.config)),
        () => {
          host.style.minHeight = "";
          if (view.shown === key) hidePicture(); // the chart shows what the picture did
          painted(view, value);
          keepPicture(view, index);
          preparePictures(view);
        },
      );
    } else if (view.shown && width > 0 && width !== view.width) {
      view.width = width;
      run(() => LIVE.Plotly.relayout(plot, { width }));
    }
  };
  view.paint = (state, value, key, index) => {
    if (!LIVE.Plotly) {
      host.style.minHeight = `${state.layout.height || 0}px`; // no jump when it draws
      return false;
    }
    view.next = { state, value, key, index };
    settle();
    return true;
  };
  // A picture in front of the chart (hidden, not removed: Plotly measures its text as it
  // draws, which a chart out of the layout cannot do).
  const hidePicture = () => {
    if (!view.pictured) return;
    view.pictured = false;
    front.replaceChildren();
    plot.style.visibility = "";
    delete host.dataset.livePicture;
  };
  view.showPicture = (index, value) => {
    const node = picture(view, index);
    if (!node) return false;
    front.replaceChildren(node);
    plot.style.visibility = "hidden";
    view.pictured = true;
    host.dataset.livePicture = String(index);
    painted(view, value);
    return true;
  };
  view.hidePicture = hidePicture;
  view.pictures = new Map();
  // the page's width for the chart, kept here: reading it while drawing would make the
  // browser lay the page out again at every step
  view.hostWidth = host.clientWidth;
  view.picturesWidth = view.hostWidth;
  view.resize = new ResizeObserver((entries) => {
    view.hostWidth = Math.round(entries[entries.length - 1].contentRect.width);
    settle();
    if (view.hostWidth !== view.picturesWidth) preparePictures(view); // at the new width
  });
  view.resize.observe(host);
  return view;
}

// --- cards ---------------------------------------------------------------------------------

function element(tag, className, parent) {
  const node = document.createElement(tag);
  node.className = className;
  if (parent) parent.appendChild(node);
  return node;
}

function newCard(box) {
  const card = element("div", "mpq-card", box);
  const label = element("div", "mpq-card-label", card);
  element("span", "mpq-card-label-text", label);
  const help = element("span", "mpq-card-help", label);
  help.textContent = "?";
  help.setAttribute("role", "img");
  element("div", "mpq-card-value", card);
  const note = element("div", "mpq-card-note", card);
  element("span", "mpq-card-pill", note);
  element("span", "mpq-card-description", note);
  return card;
}

function fillCard(card, item) {
  card.querySelector(".mpq-card-label-text").textContent = item.label;
  const help = card.querySelector(".mpq-card-help");
  help.title = item.help;
  help.setAttribute("aria-label", item.help);
  help.hidden = !item.help;
  card.querySelector(".mpq-card-value").textContent = item.value;
  card.querySelector(".mpq-card-pill").textContent = item.note;
  const description = card.querySelector(".mpq-card-description");
  description.textContent = item.note_description;
  description.hidden = !item.note_description;
}

function cardsView(host) {
  const box = element("div", "mpq-cards", host);
  const view = { host, box };
  view.paint = (state, value) => {
    box.style.setProperty("--mpq-per-row", String(state.per_row));
    while (box.children.length > state.cards.length) box.lastChild.remove();
    while (box.children.length < state.cards.length) newCard(box);
    state.cards.forEach((item, i) => fillCard(box.children[i], item));
    painted(view, value);
    return true;
  };
  return view;
}

// --- mounting ------------------------------------------------------------------------------

function attach(host, spec, text) {
  let view = host.__mpqView;
  if (!view || view.kind !== spec.kind) {
    host.replaceChildren();
    view = spec.kind === "cards" ? cardsView(host) : plotView(host);
    view.kind = spec.kind;
    host.__mpqView = view;
  }
  if (view.group && view.group !== spec.group) liveGroup(view.group).views.delete(host);
  if (!view.seen) {
    view.visible = true; // until the observer says otherwise
    view.seen = new IntersectionObserver(
      (entries) => {
        view.visible = entries[entries.length - 1].isIntersecting;
        const group = view.group ? liveGroup(view.group) : null;
        if (view.visible && group) LIVE.redraw(group.name);
      },
      { rootMargin: "0px" },
    );
    view.seen.observe(host);
  }
  if (view.text !== text) {
    // new data: its steps are drawn again, the chart first, the pictures after it
    view.text = text;
    view.spec = spec;
    view.shown = null;
    if (view.pictures) {
      if (view.hidePicture) view.hidePicture();
      dropPictures(view);
    }
  }
  view.group = spec.group;
  const group = liveGroup(spec.group);
  group.slider = group.slider ?? spec.slider;
  group.views.set(host, view);
  LIVE.redraw(spec.group);
}

function detach(host) {
  const view = host.__mpqView;
  if (!view) return;
  if (view.group) liveGroup(view.group).views.delete(host);
  if (view.resize) view.resize.disconnect();
  if (view.pictures) {
    dropPictures(view);
    if (view.easel) putEaselAway(view);
  }
  if (view.seen) view.seen.disconnect();
  host.__mpqView = null;
}

if (!LIVE.observer) {
  // Every movement of a slider's thumb (pointer or keyboard) changes its range input's value
  // attribute before anything is sent to the server: redraw the groups that follow it.
  LIVE.observer = new MutationObserver((mutations) => {
    for (const mutation of mutations) {
      const input = mutation.target;
      if (!(input instanceof HTMLInputElement) || input.type !== "range") continue;
      for (const group of LIVE.groups.values()) {
        if (group.slider && input.closest(`.st-key-${CSS.escape(group.slider)}`)) {
          LIVE.redraw(group.name);
        }
      }
    }
  });
  // a pointer held down anywhere (on the thumb, in practice) makes a drag
  LIVE.pointers = 0;
  document.addEventListener("pointerdown", () => (LIVE.pointers += 1), true);
  const release = () => {
    LIVE.pointers = 0;
    for (const name of LIVE.groups.keys()) LIVE.redraw(name); // the views left behind
  };
  document.addEventListener("pointerup", release, true);
  document.addEventListener("pointercancel", release, true);
  LIVE.observer.observe(document.body, {
    subtree: true,
    attributes: true,
    attributeFilter: ["value", "aria-valuetext"],
  });
  LIVE.plotly.then((Plotly) => {
    LIVE.Plotly = Plotly;
    for (const name of LIVE.groups.keys()) LIVE.redraw(name);
  });
}

export default function (component) {
  const { data, parentElement } = component;
  let host = parentElement.querySelector(":scope > .mpq-live");
  if (!host) {
    host = element("div", "mpq-live", parentElement);
  }
  const mount = {};
  host.__mpqMount = mount; // the newest data wins if two arrive close together
  if (data) {
    inflateText(data).then((text) => {
      if (host.__mpqMount === mount) attach(host, JSON.parse(text), text);
    });
  }
  return () => detach(host);
}
