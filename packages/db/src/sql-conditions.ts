/**
 * The WHERE clause of a search, built together with its parameters. A filter's condition holds
 * when its value is not given (`$1::text IS NULL OR source = $1::text`), so a statement's text
 * depends on which filters a search offers, never on the values asked for: one plan each.
 */
export class SqlConditions {
  /** The statement's parameters, `$1` first. */
  readonly values: unknown[] = [];
  readonly #conditions: string[] = [];

  /** A parameter (`$n::type`) for `value`; undefined is sent as null. */
  parameter(value: unknown, type: string): string {
    this.values.push(value ?? null);
    return `$${this.values.length}::${type}`;
  }

  /** `condition`, always. */
  add(condition: string): this {
    this.#conditions.push(condition);
    return this;
  }

  /** `condition(parameter)` when `value` is given; no condition when it is not. */
  optional(value: unknown, type: string, condition: (parameter: string) => string): this {
    const parameter = this.parameter(value, type);
    return this.add(`(${parameter} IS NULL OR ${condition(parameter)})`);
  }

  /** `column = value` for each column whose value is given. */
  equal(columns: Readonly<Record<string, string | undefined>>): this {
    for (const [column, value] of Object.entries(columns)) {
      this.optional(value, 'text', (parameter) => `${column} = ${parameter}`);
    }
    return this;
  }

  /** `column` at or after `from` and before `to` (RFC 3339), each bound when given. */
  between(column: string, range: { from?: string | undefined; to?: string | undefined }): this {
    this.optional(range.from, 'timestamptz', (from) => `${column} >= ${from}`);
    return this.optional(range.to, 'timestamptz', (to) => `${column} < ${to}`);
  }

  /** The conditions joined with AND (`true` when there is none). */
  get sql(): string {
    return this.#conditions.length === 0 ? 'true' : this.#conditions.join('\n  AND ');
  }
}
