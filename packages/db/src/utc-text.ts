/** Exact to the microsecond, so a cursor built from it never skips or repeats a row. */
const UTC_MICROS = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

/** SQL for a timestamptz column as RFC 3339 UTC text with microseconds (null stays null). */
export function utcText(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', ${UTC_MICROS})`;
}
