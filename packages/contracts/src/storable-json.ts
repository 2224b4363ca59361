import { isExactNumber } from './exact-json.js';

/**
 * What PostgreSQL can store as sent, checked before an event is accepted, so that an event answered 200
 * is never refused by the database afterwards (and so dead-lettered) for its content.
 *
 * - `jsonb` and `text` cannot hold U+0000 (NUL): `\u0000` fails with SQLSTATE 22P05.
 * - `jsonb` refuses an unpaired UTF-16 surrogate (`"\ud800"`): SQLSTATE 22P02. JavaScript
 *   strings can hold one; Unicode text cannot.
 * - `jsonb` stores numbers as `numeric`: at most 131072 digits before the decimal point and
 *   16383 after it (SQLSTATE 22003 past either). Numbers a double cannot hold are parsed as
 *   `ExactNumber`s (see `exact-json.ts`) and checked against those bounds; a double that is not
 *   finite (only code can make one) would be stored as `null`.
 * - A key named `__proto__` does not survive being copied into a JavaScript object (it sets the
 *   copy's prototype instead), so it would be dropped silently on the way to the database.
 * - Nesting is bounded: `JSON.stringify`, which every stored event goes through, recurses and
 *   overflows the stack at a few thousand levels.
 */

/** The deepest `data` may ever nest, whatever `MAX_JSON_DEPTH` says: far below the stack's limit. */
export const JSON_DEPTH_CEILING = 1000;

/** `MAX_JSON_DEPTH`'s default: generous for real payloads (providers nest under 10 levels). */
export const DEFAULT_MAX_JSON_DEPTH = 64;

const TOO_LARGE = 'is a number too large to be stored as sent';

/** `numeric`'s bounds: digits before the decimal point, and after it (its `dscale`). */
const NUMERIC_MAX_INTEGER_DIGITS = 131072;
const NUMERIC_MAX_FRACTION_DIGITS = 16383;
/** PostgreSQL refuses an exponent at or past INT_MAX / 2 whatever the digits. */
const NUMERIC_MAX_EXPONENT = 1073741823;

const JSON_NUMBER = /^-?(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * Why `numeric` cannot hold the JSON number `text`, or `undefined` when it can. Follows
 * PostgreSQL's own reading of it: the digits after the point are those written minus the
 * exponent (`1.50e-2` has 4), and zero has no digits before it.
 */
export function unstorableNumberReason(text: string): string | undefined {
  const match = JSON_NUMBER.exec(text);
  if (match === null) return 'is not a JSON number';
  const integer = match[1] ?? '';
  const fraction = match[2] ?? '';
  const exponent = Number(match[3] ?? '0');
  if (Math.abs(exponent) >= NUMERIC_MAX_EXPONENT) return TOO_LARGE;
  if (fraction.length - exponent > NUMERIC_MAX_FRACTION_DIGITS) {
    return `is a number with more than ${NUMERIC_MAX_FRACTION_DIGITS} digits after the decimal point, which cannot be stored`;
  }
  const firstNonZero = /[1-9]/.exec(integer + fraction)?.index;
  if (firstNonZero === undefined) return undefined;
  const integerDigits = integer.length - firstNonZero + exponent;
  return integerDigits > NUMERIC_MAX_INTEGER_DIGITS ? TOO_LARGE : undefined;
}

function unstorableValueReason(value: unknown): string | undefined {
  if (typeof value === 'string') return unstorableTextReason(value);
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : TOO_LARGE;
  if (isExactNumber(value)) return unstorableNumberReason(value.value);
  return undefined;
}

/** Issues reported for one value at most: a hostile body could otherwise produce thousands. */
const MAX_ISSUES = 10;

/** `String.prototype.isWellFormed` (ES2024, in Node since 20): false for an unpaired surrogate. */
const isWellFormed = (text: string): boolean =>
  (text as unknown as { isWellFormed(): boolean }).isWellFormed();

/** One reason a JSON value cannot be stored, at `path` (keys and array indexes from the root). */
export interface JsonIssue {
  path: Array<string | number>;
  message: string;
}

/** Why PostgreSQL cannot store `text` as it is, or `undefined` when it can. */
export function unstorableTextReason(text: string): string | undefined {
  if (text.includes('\u0000')) return 'contains U+0000 (NUL), which cannot be stored';
  if (!isWellFormed(text)) {
    return 'contains an unpaired UTF-16 surrogate (not Unicode text), which cannot be stored';
  }
  return undefined;
}

interface Frame {
  value: object;
  /** 1 for the root object or array. */
  depth: number;
  parent: Frame | undefined;
  key: string | number;
}

/**
 * Everything in `value` (a parsed JSON document) that PostgreSQL could not store as sent:
 * strings and keys with NUL or unpaired surrogates, numbers out of `numeric`'s range,
 * `__proto__` keys, and objects or arrays nested more than `maxDepth` levels deep (the root is
 * level 1). Iterative, so no depth can overflow the stack; nothing below `maxDepth` is visited,
 * and at most a few issues are returned.
 */
export function unstorableJsonIssues(value: unknown, options: { maxDepth: number }): JsonIssue[] {
  const issues: JsonIssue[] = [];
  const report = (parent: Frame | undefined, key: string | number | undefined, message: string) => {
    if (issues.length < MAX_ISSUES) issues.push({ path: pathOf(parent, key), message });
  };
  const reason = unstorableValueReason(value);
  if (reason !== undefined) report(undefined, undefined, reason);
  if (typeof value !== 'object' || value === null || isExactNumber(value)) return issues;

  const stack: Frame[] = [{ value, depth: 1, parent: undefined, key: '' }];
  const nested: Frame[] = [];
  const visit = (key: string | number, child: unknown, parent: Frame) => {
    if (typeof child === 'object' && child !== null && !isExactNumber(child)) {
      nested.push({ value: child, depth: parent.depth + 1, parent, key });
    } else {
      const reason = unstorableValueReason(child);
      if (reason !== undefined) report(parent, key, reason);
    }
  };
  for (let frame = stack.pop(); frame !== undefined; frame = stack.pop()) {
    if (issues.length >= MAX_ISSUES) break;
    if (frame.depth > options.maxDepth) {
      report(frame, undefined, `nested deeper than ${options.maxDepth} levels`);
      continue;
    }
    if (Array.isArray(frame.value)) {
      for (let index = 0; index < frame.value.length; index++) {
        visit(index, frame.value[index], frame);
      }
    } else {
      const object = frame.value as Record<string, unknown>;
      for (const key of Object.keys(object)) {
        if (key === '__proto__') report(frame, key, 'the key __proto__ cannot be stored');
        const keyReason = unstorableTextReason(key);
        if (keyReason !== undefined) report(frame, key, `key ${keyReason}`);
        visit(key, object[key], frame);
      }
    }
    // Reversed, so that nested values are visited (and reported) in document order.
    while (nested.length > 0) stack.push(nested.pop() as Frame);
  }
  return issues;
}

/** The keys from the root down to `frame`, then `key` when given. */
function pathOf(frame: Frame | undefined, key: string | number | undefined): JsonIssue['path'] {
  const path: JsonIssue['path'] = key === undefined ? [] : [key];
  for (let f = frame; f?.parent !== undefined; f = f.parent) path.unshift(f.key);
  return path;
}
