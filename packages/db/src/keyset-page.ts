import type { Database } from './database.js';
import type { SqlConditions } from './sql-conditions.js';

/** Where a page ends: the last row's time (RFC 3339) and uuid. */
export interface KeysetPosition {
  at: string;
  id: string;
}

/** Which page: the one after `after` (the first when undefined), at most `limit` rows. */
export interface PageRequest {
  after?: KeysetPosition | undefined;
  limit: number;
}

export interface Page<T> {
  items: T[];
  /** Pass as `after` for the next page; undefined on the last one. */
  next: KeysetPosition | undefined;
}

/** The properties of `T` that hold text. */
type TextProperty<T> = { [K in keyof T]: T[K] extends string ? K : never }[keyof T];

export interface PagedTable<T> {
  /** The table, with its alias when the columns use one. */
  from: string;
  /** The select list; its names are the properties of `T`. */
  columns: string;
  /**
   * The time column pages are ordered by, and the property of `T` it is selected as. The `id`
   * column of the same table (uuid) breaks ties.
   */
  time: readonly [column: string, property: TextProperty<T>];
}

/**
 * Pages of a table, keyset-paginated on (time, id): each page starts after the previous one's
 * last row, so rows stored while paging never shift later pages, and pages have no gaps and
 * no duplicates.
 */
export class KeysetPages<T extends { id: string }> {
  readonly #table: PagedTable<T>;

  constructor(table: PagedTable<T>) {
    this.#table = table;
  }

  newestFirst(
    db: Pick<Database, 'query'>,
    where: SqlConditions,
    page: PageRequest,
  ): Promise<Page<T>> {
    return this.#find(db, where, page, ['<', 'DESC']);
  }

  oldestFirst(
    db: Pick<Database, 'query'>,
    where: SqlConditions,
    page: PageRequest,
  ): Promise<Page<T>> {
    return this.#find(db, where, page, ['>', 'ASC']);
  }

  async #find(
    db: Pick<Database, 'query'>,
    where: SqlConditions,
    page: PageRequest,
    [beyond, direction]: readonly [string, string],
  ): Promise<Page<T>> {
    const [time, property] = this.#table.time;
    // `d.dead_lettered_at` goes with `d.id`, `created_at` with `id`.
    const id = time.replace(/[^.]+$/, 'id');
    const at = where.parameter(page.after?.at, 'timestamptz');
    const afterId = where.parameter(page.after?.id, 'uuid');
    where.add(`(${at} IS NULL OR (${time}, ${id}) ${beyond} (${at}, ${afterId}))`);
    // One row more than asked for tells whether another page follows.
    const limit = where.parameter(page.limit + 1, 'int');
    const result = await db.query<T>(
      `SELECT ${this.#table.columns}
       FROM ${this.#table.from}
       WHERE ${where.sql}
       ORDER BY ${time} ${direction}, ${id} ${direction}
       LIMIT ${limit}`,
      where.values,
    );
    const items = result.rows.slice(0, page.limit);
    const last = items.at(-1);
    const more = result.rows.length > page.limit && last !== undefined;
    return { items, next: more ? { at: last[property] as string, id: last.id } : undefined };
  }
}
