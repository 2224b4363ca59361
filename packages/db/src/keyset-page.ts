import type { Database } from './database.js';
import type { SqlConditions } from './sql-conditions.js';

/** Where a page ends: the last row's time (RFC 3339) and uuid. */
export interface KeysetPosition {
  at: string;
  id: string;
}

export interface Page<T> {
  items: T[];
  /** Pass as `after` for the next page; undefined on the last one. */
  next: KeysetPosition | undefined;
}

export interface FindPageOptions<T> {
  /** The select list; its names are the properties of `T`. */
  columns: string;
  /** The table, with its alias when the columns use one. */
  from: string;
  /** The search's conditions; the page's own parameters are added after them. */
  where: SqlConditions;
  /** The time column the rows are ordered by, then the uuid column that breaks ties. */
  orderBy: readonly [time: string, id: string];
  order: 'newest first' | 'oldest first';
  /** A row's time as the select list gives it: the `at` of its position. */
  timeOf: (row: T) => string;
  after: KeysetPosition | undefined;
  limit: number;
}

/**
 * One page, keyset-paginated on (time, id): rows after the previous page's last, so rows
 * stored while paging never shift later pages, and pages have no gaps and no duplicates. One
 * row more than `limit` is asked for, to tell whether another page follows.
 */
export async function findPage<T extends { id: string }>(
  db: Database,
  options: FindPageOptions<T>,
): Promise<Page<T>> {
  const { where, limit } = options;
  const [time, id] = options.orderBy;
  const [beyond, direction] = options.order === 'newest first' ? ['<', 'DESC'] : ['>', 'ASC'];
  const afterAt = where.parameter(options.after?.at, 'timestamptz');
  const afterId = where.parameter(options.after?.id, 'uuid');
  where.add(`(${afterAt} IS NULL OR (${time}, ${id}) ${beyond} (${afterAt}, ${afterId}))`);
  const limitParameter = where.parameter(limit + 1, 'int');
  const result = await db.query<T>(
    `SELECT ${options.columns}
     FROM ${options.from}
     WHERE ${where.sql}
     ORDER BY ${time} ${direction}, ${id} ${direction}
     LIMIT ${limitParameter}`,
    where.values,
  );
  const items = result.rows.slice(0, limit);
  const last = items.at(-1);
  const more = result.rows.length > limit && last !== undefined;
  return { items, next: more ? { at: options.timeOf(last), id: last.id } : undefined };
}
