import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonNumberText } from '../../../test/helpers/json-number.js';
import {
  isExactNumber,
  parseExactJson,
  StorableJsonObject,
  stringifyExactJson,
  unstorableNumberReason,
} from '../src/index.js';

const SHOPIFY =
  '{"id":"shop-1","source":"shopify","type":"orders/create","data":{"id":820982911946154508,"n":12345678901234567890,"weight":1.10}}';

describe('parseExactJson and stringifyExactJson', () => {
  it('keep every digit of a Shopify order, which JSON.parse would round', () => {
    expect(JSON.stringify(JSON.parse(SHOPIFY))).not.toBe(SHOPIFY);
    const value = parseExactJson(SHOPIFY) as { data: Record<string, unknown> };
    expect(isExactNumber(value.data.id)).toBe(true);
    expect(stringifyExactJson(value)).toBe(SHOPIFY);
  });

  it('give any number text back as written (property)', () => {
    // `-0` alone is read by JSON.parse as 0, which is what jsonb makes of it too.
    const number = jsonNumberText().filter((n) => n !== '-0');
    fc.assert(
      fc.property(fc.array(number, { minLength: 1, maxLength: 8 }), (numbers) => {
        const text = `{"a":[${numbers.join(',')}],"b":{"n":${numbers[0]}},"s":"x"}`;
        expect(stringifyExactJson(parseExactJson(text))).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it('return what JSON.parse gives when no number needs more than a double', () => {
    const text = '{"a":[1,-2,300000000000000,true,null,"1.5"]}';
    const parsed = JSON.parse(text);
    expect(parseExactJson(text, { parsed })).toBe(parsed);
    // Text that only looks like such numbers is parsed again, to the same value.
    const lookalike = '{"a":"x:1.5e3, 12345678901234567"}';
    expect(parseExactJson(lookalike)).toEqual(JSON.parse(lookalike));
    expect(parseExactJson('{"a":[1,2],"b":{"c":-7}}')).toEqual({ a: [1, 2], b: { c: -7 } });
    expect(stringifyExactJson({ a: [1, 'x'] })).toBe('{"a":[1,"x"]}');
  });

  it('take the single parse for times in strings, and still find a number after a spaced colon', () => {
    // A queue message: its times hold ":06.892", which is no number.
    const message =
      '{"id":"e-1","source":"s","type":"t","data":{"n":42},"timestamp":"2026-12-02T05:14:06.892Z","receivedAt":"2026-12-02T05:14:06.893Z"}';
    const parsed = JSON.parse(message);
    expect(parseExactJson(message, { parsed })).toBe(parsed);
    // White space between a key and its colon, and around the colon, is legal JSON.
    for (const text of ['{"w" : 1.10}', '{"w"\n:\t1.10}', '{"w": [0.5, 1.10]}']) {
      expect(stringifyExactJson(parseExactJson(text)).replace(/\s/g, '')).toContain('1.10');
    }
  });

  it('keep numbers a double holds exactly as plain numbers', () => {
    const value = parseExactJson('{"a":[1.5,100,9007199254740993,0.1]}') as { a: unknown[] };
    expect(value.a.map((n) => typeof n)).toEqual(['number', 'number', 'object', 'number']);
  });

  it('let the last of duplicate keys win, as JSON.parse and jsonb do', () => {
    expect(stringifyExactJson(parseExactJson('{"a":1.10,"a":2.50}'))).toBe('{"a":2.50}');
  });

  it('keep a __proto__ key as an own key, so that the contract can refuse it', () => {
    const value = parseExactJson('{"__proto__":{"n":1.10}}');
    expect(Object.keys(value as object)).toEqual(['__proto__']);
    expect(StorableJsonObject.safeParse(value).success).toBe(false);
  });

  it('refuse text that is not JSON with a SyntaxError', () => {
    expect(() => parseExactJson('{"a":1.10')).toThrow(SyntaxError);
  });

  it('fall back to the doubles for nesting far past any storable depth, never overflowing', () => {
    const levels = 50_000;
    const text = `${'['.repeat(levels)}1.10${']'.repeat(levels)}`;
    expect(() => parseExactJson(text)).not.toThrow();
  });
});

describe('unstorableNumberReason follows numeric', () => {
  it.each([
    ['1e400', undefined],
    ['1e131071', undefined],
    ['0.001e131074', undefined],
    ['0e999999', undefined],
    ['1e-16383', undefined],
    ['1.5e-16382', undefined],
    ['820982911946154508', undefined],
  ])('accepts %s', (text, reason) => {
    expect(unstorableNumberReason(text)).toBe(reason);
  });

  it.each([
    ['1e131072', /too large/],
    ['10e131071', /too large/],
    ['1e999999999999', /too large/],
    ['1e-16384', /16383 digits after/],
    ['1.5e-16383', /16383 digits after/],
    ['0.0e-16383', /16383 digits after/],
  ])('refuses %s', (text, reason) => {
    expect(unstorableNumberReason(text)).toMatch(reason);
  });
});
