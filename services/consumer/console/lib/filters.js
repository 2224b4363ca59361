// A list screen's filters: a form whose values live in the URL's hash, so a filtered list can
// be bookmarked, shared and reached with the back button.
import { h } from './dom.js';

/** An ISO time as the value of a datetime-local input (local time, minutes). */
function localInputValue(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function control(definition, value) {
  const id = `filter-${definition.name}`;
  let input;
  if (definition.options) {
    input = h(
      'select',
      { id, name: definition.name },
      h('option', { value: '' }, 'any'),
      definition.options.map((o) => h('option', { value: o, selected: o === value }, o)),
    );
  } else if (definition.time) {
    input = h('input', {
      id,
      name: definition.name,
      type: 'datetime-local',
      value: localInputValue(value),
    });
  } else {
    input = h('input', {
      id,
      name: definition.name,
      type: 'text',
      value,
      placeholder: definition.placeholder,
      spellcheck: 'false',
      autocomplete: 'off',
    });
  }
  return h(
    'div',
    { class: definition.wide ? 'wide' : undefined },
    h('label', { for: id }, definition.label),
    input,
  );
}

/**
 * The filter panel of `#/<section>`, filled from `params`. `controls` are `{ name, label }` plus
 * `options` (a select), `time` (a local time, sent as ISO) or `placeholder` and `wide`.
 */
export function filterForm(section, params, controls) {
  const active = controls.filter((c) => params.get(c.name)).length;
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filters' },
    controls.map((definition) => control(definition, params.get(definition.name) ?? '')),
    h(
      'div',
      { class: 'actions' },
      h('button', { type: 'submit', class: 'primary' }, 'Apply'),
      h(
        'button',
        {
          type: 'reset',
          onclick: (e) => {
            e.preventDefault();
            location.hash = `#/${section}`;
          },
        },
        'Clear',
      ),
    ),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const definition of controls) {
      const raw = new FormData(form).get(definition.name);
      if (typeof raw !== 'string' || raw.trim() === '') continue;
      next.set(definition.name, definition.time ? new Date(raw).toISOString() : raw.trim());
    }
    location.hash = `#/${section}?${next}`;
  });
  // On a phone the filters fold away unless one is in use.
  const open = active > 0 || window.matchMedia('(min-width: 40rem)').matches;
  return h(
    'details',
    { class: 'filter-panel', open },
    h('summary', {}, active > 0 ? `Filters (${active} in use)` : 'Filters'),
    form,
  );
}
