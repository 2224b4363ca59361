import {
  isLosslessNumber,
  LosslessNumber,
  parse as parseLossless,
  stringify as stringifyLossless,
} from 'lossless-json';

/**
 * JSON whose numbers keep every digit, as PostgreSQL's `jsonb` keeps them (it stores numbers as
 * `numeric`): `820982911946154508`, `0.1000000000000000055511151231257827`, `1.10` and `1e400`
 * would all be altered by a double (`820982911946154500`, `0.1`, `1.1`, Infinity).
 *
 * A number whose text a double would alter is parsed into an `ExactNumber`, which carries its
 * text and is written back as that text; every other value is what `JSON.parse` makes of it. The
 * queue message's text is written and read with these two functions, so that what the sender
 * sent is what the database is given.
 *
 * Cost: most payloads carry no such number, and a quick look at the text tells so; they take
 * `JSON.parse` and `JSON.stringify` alone. The others are parsed again by `lossless-json` (a
 * JavaScript parser, a few times slower than the native one).
 */

/** A JSON number a double cannot hold as sent: its text, written back as is. */
export class ExactNumber extends LosslessNumber {
  /**
   * Makes `JSON.stringify` stop at the first one: `stringifyExactJson` then takes the exact
   * path, and any other caller learns at once rather than writing `{"value":"…"}`.
   */
  toJSON(): never {
    throw new NeedsExactStringifyError(
      'a value holding an ExactNumber must be written with stringifyExactJson',
    );
  }
}

class NeedsExactStringifyError extends TypeError {
  override name = 'NeedsExactStringifyError';
}

/** True for a number parsed from text a double would alter (see `ExactNumber`). */
export function isExactNumber(value: unknown): value is LosslessNumber {
  return isLosslessNumber(value);
}

const FRACTION_OR_EXPONENT = /(?:"[ \t\n\r]*:|[[,])[ \t\n\r]*-?\d+[.eE]/;
const SIXTEEN_DIGITS = /\d{16}/;

/**
 * True when `text` may hold a number a double would alter. In JSON text, a number follows `[`,
 * `,` or a key's closing quote and `:` (white space allowed between them); one a double may
 * alter has a fraction, an exponent or at least 16 digits (every integer of 15 digits is
 * exact). The quote before the `:` keeps times out: the `:06.892` of an RFC 3339 time in a
 * string (every queue message has two) would otherwise send nearly every message down the exact
 * parse. Strings can still match: they only cost the exact parse. Two plain patterns scan about
 * three times faster than their alternation (about a tenth of `JSON.parse`'s time on the same
 * text).
 */
const mayHoldInexactNumber = (text: string): boolean =>
  FRACTION_OR_EXPONENT.test(text) || SIXTEEN_DIGITS.test(text);

/** Parses a number token: a double when it gives the same text back, else an `ExactNumber`. */
function parseNumber(text: string): number | ExactNumber {
  const value = Number(text);
  return String(value) === text ? value : new ExactNumber(text);
}

export interface ParseExactJsonOptions {
  /**
   * What `JSON.parse` made of the same text, when the caller already has it (for example from a
   * parser that also refuses prototype keys): returned as is when no number needs more than a
   * double, so the text is parsed only once.
   */
  parsed?: unknown;
}

/**
 * Parses JSON text, keeping every number's digits (see `ExactNumber`). Throws a `SyntaxError`
 * for text that is not JSON. Duplicate keys: the last one wins, as with `JSON.parse` and `jsonb`.
 */
export function parseExactJson(text: string, options: ParseExactJsonOptions = {}): unknown {
  const parsed: unknown = 'parsed' in options ? options.parsed : JSON.parse(text);
  if (!mayHoldInexactNumber(text)) return parsed;
  try {
    return parseLossless(text, null, {
      parseNumber,
      onDuplicateKey: ({ newValue }) => newValue,
    });
  } catch (err) {
    // lossless-json recurses: past a few thousand levels of nesting it runs out of stack. Such
    // a document is far deeper than any limit on stored data (`JSON_DEPTH_CEILING`), so it is
    // refused for its depth whatever its numbers.
    if (err instanceof RangeError) return parsed;
    throw err;
  }
}

/** JSON text of `value`, `ExactNumber`s written as their own text. */
export function stringifyExactJson(value: unknown): string {
  try {
    return JSON.stringify(value);
  } catch (err) {
    if (!(err instanceof NeedsExactStringifyError)) throw err;
    return stringifyLossless(value) as string;
  }
}
