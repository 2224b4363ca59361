// What the list screens (events, dead letters, rejected requests, subscriptions) share: the page
// the URL's filters and cursor ask for, shown under a heading and the filter form, with a pager
// below.
import { api } from './api.js';
import { h } from './dom.js';
import { filterForm } from './filters.js';
import { pageQuery, pager, pageSummary } from './pager.js';
import { table } from './table.js';
import { say, show } from './view.js';

/** The page of the API's list `/${section}` that the screen's URL asks for. */
export function fetchPage(screen, section, filters) {
  return api(
    `/${section}?${pageQuery(
      screen.params,
      filters.map((f) => f.name),
    )}`,
  );
}

/**
 * Shows a page of a list: `list` names its `section`, `title`, `filters` (none: no filter form),
 * a `noun` for the announcement, the table (`caption`, `headers`, `rows`, `empty` text), and
 * optionally `extras` shown above the table and a `hint` below the pager.
 */
export function showPage(screen, page, list) {
  show(screen, list.title, [
    h('h1', {}, list.title),
    list.filters.length > 0 ? filterForm(list.section, screen.params, list.filters) : null,
    ...(list.extras ?? []),
    table(list.caption, list.headers, list.rows, list.empty),
    pager(list.section, screen.params, page.nextCursor),
    list.hint ? h('p', { class: 'hint' }, list.hint) : null,
  ]);
  say(pageSummary(page, list.noun));
}
