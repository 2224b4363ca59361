import { h } from './dom.js';

/**
 * A labelled input of a form, `id` `<form>-<name>`, with its hint under it (and described by
 * it) when given; `wide` spans the form's grid when the hint needs the room.
 */
export function formField(form, name, label, input, hint, { wide = false } = {}) {
  const id = `${form}-${name}`;
  const hintId = hint ? `${id}-hint` : undefined;
  return h(
    'div',
    { class: wide ? 'wide' : undefined },
    h('label', { for: id }, label),
    h('input', {
      id,
      name,
      spellcheck: 'false',
      autocomplete: 'off',
      'aria-describedby': hintId,
      ...input,
    }),
    hint ? h('p', { id: hintId, class: 'hint' }, hint) : null,
  );
}
