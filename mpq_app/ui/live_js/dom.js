// Elements of the live views.

// A new ``tag`` of class ``className``, the last child of ``parent`` when given.
export function element(tag, className, parent) {
  const node = document.createElement(tag);
  node.className = className;
  if (parent) parent.appendChild(node);
  return node;
}
