/**
 * SQL that holds when the type `type` matches one of the patterns of the `text[]` `patterns`:
 * equal to one, or starting with one that ends in `*` (`invoice.*`; `*` alone: every type).
 */
export function typeMatchesSql(type: string, patterns: string): string {
  return `EXISTS (
    SELECT 1 FROM unnest(${patterns}) AS type_patterns(pattern)
    WHERE ${type} = type_patterns.pattern
      OR (right(type_patterns.pattern, 1) = '*'
        AND starts_with(${type}, left(type_patterns.pattern, -1))))`;
}

/**
 * SQL that holds when the event `event` (a row with `source` and `type`) matches the filter of
 * the subscription `subscription`: storing and backfilling make deliveries by this one rule.
 */
export function subscriptionMatchesSql(subscription: string, event: string): string {
  return `(${subscription}.sources IS NULL OR ${event}.source = ANY (${subscription}.sources))
    AND (${subscription}.types IS NULL OR ${typeMatchesSql(`${event}.type`, `${subscription}.types`)})`;
}
