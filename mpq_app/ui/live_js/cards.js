// The headline cards of a group as a live view (st.metric's look, view.css).

import { element } from "./dom.js";
import { painted } from "./painted.js";

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

export function cardsView(host) {
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
