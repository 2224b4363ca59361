/** The media type GitHub's webhook form offers first: `payload=<URL-encoded JSON>`. */
export const FORM_MEDIA_TYPE = 'application/x-www-form-urlencoded';

/** Whether a `Content-Type` header names `FORM_MEDIA_TYPE` (any parameters, any case). */
export function isFormContentType(contentType: string | undefined): boolean {
  const essence = contentType?.split(';', 1)[0]?.trim().toLowerCase();
  return essence === FORM_MEDIA_TYPE;
}

export type FormPayload = { success: true; bytes: Buffer } | { success: false; message: string };

/**
 * The bytes of the one `payload` field of an `application/x-www-form-urlencoded` body, as
 * GitHub sends a webhook whose content type is left at its default. They are decoded to bytes,
 * not to a string, so that the JSON inside is then read exactly as a JSON body would be
 * (invalid UTF-8 refused rather than turned into U+FFFD). A malformed `%` escape, or a
 * `payload` field missing or given twice, is refused: guessing would store something the
 * sender may not have sent. Other fields are ignored.
 */
export function formPayload(rawBody: Buffer): FormPayload {
  let payload: Buffer | undefined;
  let start = 0;
  while (start <= rawBody.length) {
    let end = rawBody.indexOf(AMPERSAND, start);
    if (end === -1) end = rawBody.length;
    if (end > start) {
      const field = rawBody.subarray(start, end);
      const equals = field.indexOf(EQUALS);
      const name = percentDecode(equals === -1 ? field : field.subarray(0, equals));
      const value = percentDecode(equals === -1 ? Buffer.alloc(0) : field.subarray(equals + 1));
      if (name === undefined || value === undefined) {
        return { success: false, message: 'form body has a malformed % escape' };
      }
      if (name.toString('latin1') === 'payload') {
        if (payload !== undefined) {
          return { success: false, message: 'form body has more than one payload field' };
        }
        payload = value;
      }
    }
    start = end + 1;
  }
  if (payload === undefined) return { success: false, message: 'form body has no payload field' };
  return { success: true, bytes: payload };
}

const AMPERSAND = 0x26;
const EQUALS = 0x3d;
const PLUS = 0x2b;
const PERCENT = 0x25;
const SPACE = 0x20;

/** `+` as a space, `%XX` as its byte; undefined for a `%` not followed by two hex digits. */
function percentDecode(encoded: Buffer): Buffer | undefined {
  const decoded = Buffer.allocUnsafe(encoded.length);
  let length = 0;
  for (let i = 0; i < encoded.length; i++) {
    const byte = encoded[i] as number;
    if (byte === PLUS) {
      decoded[length++] = SPACE;
    } else if (byte === PERCENT) {
      const high = hexValue(encoded[i + 1]);
      const low = hexValue(encoded[i + 2]);
      if (high === undefined || low === undefined) return undefined;
      decoded[length++] = high * 16 + low;
      i += 2;
    } else {
      decoded[length++] = byte;
    }
  }
  return decoded.subarray(0, length);
}

function hexValue(byte: number | undefined): number | undefined {
  if (byte === undefined) return undefined;
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  const lower = byte | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return undefined;
}
