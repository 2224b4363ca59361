import { h } from './dom.js';

/**
 * One figure of a row of `.cards`: its `label`, its `value` in large type (smaller with `long`,
 * for text such as an error) and a muted line of `extra`.
 */
export function card(label, value, extra, { long = false } = {}) {
  return h(
    'div',
    { class: 'card' },
    h('div', { class: 'label' }, label),
    h('div', { class: long ? 'value long' : 'value' }, value),
    extra ? h('div', { class: 'muted' }, extra) : null,
  );
}
