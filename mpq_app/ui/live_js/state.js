// The state element (ui/live.py: mount_state): the server's word on a group after each script
// run: the value in use, where the slider stands for it and, for a value between two slider
// steps, that value's own states. States are read one after another, so a late one never
// overrides a newer one.

import { inflateText } from "./inflate.js";
import { LIVE, askRedraw, liveGroup } from "./registry.js";

export default function (component) {
  const { data } = component;
  if (!data) return;
  LIVE.states = (LIVE.states ?? Promise.resolve()).then(async () => {
    const state = JSON.parse(await inflateText(data));
    const group = liveGroup(state.group);
    group.slider = state.slider;
    group.server = state;
    askRedraw(state.group);
  });
}
