// Elements from plain data. Every value becomes text or an attribute, never HTML: whatever the
// server sends is shown as it is and cannot become markup.

/**
 * `h('a', { href, class, text, onclick }, ...children)`: attributes that are undefined, null or
 * false are left out, `on…` ones are listeners; children may be nodes, strings or nested arrays.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}
