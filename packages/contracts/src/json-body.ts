import { isUtf8 } from 'node:buffer';
import secureJson from 'secure-json-parse';
import { parseExactJson } from './exact-json.js';

export type ParsedJsonBody =
  | { success: true; value: unknown }
  | { success: false; message: string };

/**
 * Parses a JSON request body from its bytes, the one way both webhook routes do:
 * - empty: refused;
 * - not valid UTF-8 (RFC 8259 requires it): refused, rather than decoded with U+FFFD in place
 *   of the bad bytes, which would store something the sender never sent;
 * - `__proto__` keys, and `constructor` keys holding a `prototype`, anywhere: refused (they
 *   are how prototype pollution travels);
 * - a leading byte order mark is ignored;
 * - numbers keep every digit (`parseExactJson`): what is stored is what `jsonb` makes of the
 *   text as sent, not of a double.
 */
export function parseJsonBody(
  rawBody: Buffer,
  options: {
    /** What the messages call the JSON text. Default `body`. */
    subject?: string;
  } = {},
): ParsedJsonBody {
  const subject = options.subject ?? 'body';
  if (rawBody.length === 0) return { success: false, message: `${subject} is empty` };
  if (!isUtf8(rawBody)) return { success: false, message: `${subject} is not valid UTF-8` };
  try {
    const text = rawBody.toString('utf8');
    const parsed: unknown = secureJson.parse(text, {
      protoAction: 'error',
      constructorAction: 'error',
    });
    return { success: true, value: parseExactJson(text, { parsed }) };
  } catch (err) {
    return { success: false, message: `${subject} is not valid JSON: ${(err as Error).message}` };
  }
}
