// Cursor paging of the list screens: newest first, one page at a time.
import { h } from './dom.js';

const PAGE_SIZE = 25;

/** The API query of a list: the filters named `names` and the cursor from `params`. */
export function pageQuery(params, names) {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  for (const name of [...names, 'cursor']) {
    const value = params.get(name);
    if (value) query.set(name, value);
  }
  return query;
}

/** Links back to the newest page and on to older ones, as there are. */
export function pager(section, params, nextCursor) {
  const newest = new URLSearchParams(params);
  newest.delete('cursor');
  const older = new URLSearchParams(params);
  if (nextCursor) older.set('cursor', nextCursor);
  return h(
    'nav',
    { class: 'toolbar', 'aria-label': 'Pages' },
    params.get('cursor')
      ? h('a', { class: 'button', href: `#/${section}?${newest}` }, '← Newest')
      : null,
    nextCursor ? h('a', { class: 'button', href: `#/${section}?${older}` }, 'Older →') : null,
  );
}

/** What a page shows, to announce: "3 dead letters shown, more on older pages." */
export function pageSummary(page, noun, plural = `${noun}s`) {
  const count = page.items.length;
  return `${count} ${count === 1 ? noun : plural} shown${page.nextCursor ? ', more on older pages' : ''}.`;
}
