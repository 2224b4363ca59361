import fc from 'fast-check';

/** Characters a client may send: any code point, astral ones included, but nothing hostile. */
const ordinaryChar = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);

/** What PostgreSQL cannot store: NUL, unpaired surrogates (high or low). */
const unstorableChar = fc.oneof(
  fc.constant('\u0000'),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code)),
);

/** Strings of ordinary characters (rarely a NUL: the `binary` unit includes U+0000). */
export const ordinaryString = (constraints: { minLength?: number; maxLength?: number } = {}) =>
  fc.string({ unit: ordinaryChar, maxLength: 12, ...constraints });

/** Strings where a NUL or an unpaired surrogate shows up now and then. */
export const hostileString = (constraints: { minLength?: number; maxLength?: number } = {}) =>
  fc.string({
    unit: fc.oneof(
      { weight: 12, arbitrary: ordinaryChar },
      { weight: 1, arbitrary: unstorableChar },
    ),
    maxLength: 12,
    ...constraints,
  });

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * JSON values (objects, arrays, scalars) nested up to `maxDepth`, with `string` for keys and
 * string values. Numbers include doubles of every magnitude; never NaN, which JSON lacks.
 */
export function jsonValue(options: {
  maxDepth: number;
  string: fc.Arbitrary<string>;
  /** Also ±Infinity, which JSON text cannot carry but a parsed `1e400` becomes. */
  infinities?: boolean;
}): fc.Arbitrary<Json> {
  const { string } = options;
  const number = fc.double({ noNaN: true, noDefaultInfinity: options.infinities !== true });
  const arbitraries = fc.letrec<{ value: Json; array: Json[]; object: { [key: string]: Json } }>(
    (tie) => ({
      value: fc.oneof(
        { depthSize: 'small', maxDepth: options.maxDepth },
        fc.constant(null),
        fc.boolean(),
        fc.integer(),
        number,
        string,
        tie('array'),
        tie('object'),
      ),
      array: fc.array(tie('value'), { maxLength: 4 }),
      object: fc.dictionary(string, tie('value'), { maxKeys: 4, noNullPrototype: true }),
    }),
  );
  return arbitraries.value;
}

/** A JSON object (what `data` must be), as `jsonValue` builds them. */
export function jsonObject(options: Parameters<typeof jsonValue>[0]): fc.Arbitrary<{
  [key: string]: Json;
}> {
  return fc.dictionary(options.string, jsonValue(options), { maxKeys: 5, noNullPrototype: true });
}

/** Whether PostgreSQL can store `text`: the test's own statement of the rule. */
export function isStorableText(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0) return false;
    const high = code >= 0xd800 && code <= 0xdbff;
    const low = code >= 0xdc00 && code <= 0xdfff;
    const next = text.charCodeAt(i + 1);
    if (high && next >= 0xdc00 && next <= 0xdfff) i++;
    else if (high || low) return false;
  }
  return true;
}

/**
 * Whether `value` can be stored as sent, written recursively and independently of the code
 * under test: text storable, numbers finite, no `__proto__` key, at most `maxDepth` levels.
 */
export function isStorableJson(value: unknown, maxDepth: number, depth = 1): boolean {
  if (typeof value === 'string') return isStorableText(value);
  if (typeof value === 'number') return Number.isFinite(value);
  if (typeof value !== 'object' || value === null) return true;
  if (depth > maxDepth) return false;
  return Object.entries(value).every(
    ([key, child]) =>
      key !== '__proto__' && isStorableText(key) && isStorableJson(child, maxDepth, depth + 1),
  );
}

/** Whether a key named `__proto__` appears anywhere in `value` (fast-check generates some). */
export function hasProtoKey(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(value).some(([key, child]) => key === '__proto__' || hasProtoKey(child));
}

/** `levels` objects nested in one another: `{"a":{"a":…{}}}`, as JSON text. */
export function nestedObjectsJson(levels: number): string {
  return `${'{"a":'.repeat(levels - 1)}{}${'}'.repeat(levels - 1)}`;
}

/** `levels` arrays nested in one another: `[[…[]]]`, as JSON text. */
export function nestedArraysJson(levels: number): string {
  return `${'['.repeat(levels)}${']'.repeat(levels)}`;
}
