import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  hostileString,
  isStorableJson,
  jsonValue,
  nestedArraysJson,
  nestedObjectsJson,
} from '../../../test/helpers/hostile-json.js';
import {
  JSON_DEPTH_CEILING,
  parseExactJson,
  QueueMessage,
  unstorableJsonIssues,
  WebhookBody,
  webhookBodySchema,
} from '../src/index.js';

const MAX_DEPTH = 64;
const issuesOf = (value: unknown, maxDepth = MAX_DEPTH) =>
  unstorableJsonIssues(value, { maxDepth });

/** Follows `path` from `root`, as a client would to find the offending value. */
function valueAt(root: unknown, path: ReadonlyArray<string | number>): unknown {
  let value = root;
  for (const key of path) value = (value as Record<string | number, unknown>)[key];
  return value;
}

describe('unstorableJsonIssues', () => {
  it('accepts what PostgreSQL stores as sent: any Unicode text, astral characters, empty keys', () => {
    const value = JSON.parse(
      '{"emoji":"😀 \\ud83d\\ude00","cjk":"漢字","":"","tab":"\\t","list":[1,-0.5,1e308,null,true],"nested":{"x":{"y":[]}},"constructor":"ok"}',
    );
    expect(issuesOf(value)).toEqual([]);
  });

  it.each([
    ['a NUL in a value', '{"a":{"b":["x","nul\\u0000"]}}', ['a', 'b', 1], /U\+0000/],
    ['a NUL in a key', '{"a":{"k\\u0000":1}}', ['a', 'k\u0000'], /^key .*U\+0000/],
    ['an unpaired high surrogate', '{"a":"\\ud800"}', ['a'], /unpaired UTF-16 surrogate/],
    ['an unpaired low surrogate', '{"a":["x\\udfffy"]}', ['a', 0], /unpaired UTF-16 surrogate/],
    ['surrogates in the wrong order', '{"a":"\\ude00\\ud83d"}', ['a'], /unpaired/],
    ['an unpaired surrogate in a key', '{"\\ud800":1}', ['\ud800'], /^key .*surrogate/],
    ['a number past numeric', '{"a":{"n":1e131072}}', ['a', 'n'], /too large/],
    ['too many decimals', '{"a":[1.5e-16383]}', ['a', 0], /16383 digits after/],
    ['a __proto__ key, nested', '{"a":{"__proto__":{"x":1}}}', ['a', '__proto__'], /__proto__/],
  ])('refuses %s, naming its path', (_case, json, path, message) => {
    const issues = issuesOf(parseExactJson(json));
    expect(issues).toEqual([{ path, message: expect.stringMatching(message) }]);
  });

  it('refuses a double that is not finite (only code makes one: JSON text cannot)', () => {
    expect(issuesOf({ a: { n: Number.POSITIVE_INFINITY }, b: [-Infinity] })).toEqual([
      { path: ['a', 'n'], message: expect.stringMatching(/too large/) },
      { path: ['b', 0], message: expect.stringMatching(/too large/) },
    ]);
  });

  it('counts the root as level 1: maxDepth levels pass, one more is refused at its path', () => {
    expect(issuesOf(JSON.parse(nestedObjectsJson(MAX_DEPTH)))).toEqual([]);
    const tooDeep = issuesOf(JSON.parse(nestedObjectsJson(MAX_DEPTH + 1)));
    expect(tooDeep).toEqual([
      { path: Array(MAX_DEPTH).fill('a'), message: `nested deeper than ${MAX_DEPTH} levels` },
    ]);
    expect(issuesOf(JSON.parse(nestedArraysJson(4)), 3)[0]?.path).toEqual([0, 0, 0]);
  });

  it('walks 200 000 levels without overflowing the stack, in bounded time', () => {
    const value = { ok: 1, deep: JSON.parse(nestedArraysJson(200_000)) };
    const startedMs = performance.now();
    const issues = issuesOf(value);
    // The walk stops at the depth limit; walking all 200 000 levels one by one would not.
    expect(performance.now() - startedMs).toBeLessThan(10_000);
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toHaveLength(MAX_DEPTH);
  });

  it('reports a few issues at most, in document order', () => {
    const value = { list: Array.from({ length: 1000 }, (_, i) => `nul ${i} \u0000`) };
    const issues = issuesOf(value);
    expect(issues.length).toBeGreaterThan(0);
    expect(issues.length).toBeLessThanOrEqual(10);
    expect(issues.map((issue) => issue.path)).toEqual(issues.map((_, i) => ['list', i]));
  });

  it('agrees with an independent statement of the rule, on generated JSON (property)', () => {
    const maxDepth = 3;
    fc.assert(
      fc.property(
        jsonValue({ maxDepth: 5, string: hostileString(), infinities: true }),
        (value) => {
          const issues = issuesOf(value, maxDepth);
          expect(issues.length === 0).toBe(isStorableJson(value, maxDepth));
          for (const issue of issues) {
            // Each path leads to something in the document (a value, or the key named last).
            const parent = valueAt(value, issue.path.slice(0, -1));
            const last = issue.path.at(-1);
            if (last !== undefined) expect(Object.keys(parent as object)).toContain(String(last));
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});

describe('the contract schemas', () => {
  it('refuse NUL and unpaired surrogates in source, type and id, naming the field', () => {
    const result = WebhookBody.safeParse({ source: 's\u0000', type: '\ud800', id: 'a\u0000' });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path)).toEqual([['source'], ['type'], ['id']]);
  });

  it('apply the configured depth to data, with data itself as level 1', () => {
    const schema = webhookBodySchema({ maxJsonDepth: 3 });
    const body = (levels: number) => ({
      source: 's',
      type: 't',
      data: JSON.parse(nestedObjectsJson(levels)),
    });
    expect(schema.safeParse(body(3)).success).toBe(true);
    const refused = schema.safeParse(body(4));
    expect(refused.error?.issues).toEqual([
      expect.objectContaining({
        path: ['data', 'a', 'a', 'a'],
        message: 'nested deeper than 3 levels',
      }),
    ]);
  });

  it('let the consumer refuse a queue message PostgreSQL could not store, rather than insert it', () => {
    const message = (data: string) =>
      parseExactJson(
        `{"id":"e1","source":"s","type":"t","timestamp":"2026-01-01T00:00:00Z","receivedAt":"2026-01-01T00:00:00Z","data":${data}}`,
      );
    expect(QueueMessage.safeParse(message('{"ok":"😀"}')).success).toBe(true);
    for (const data of ['{"a":"\\u0000"}', '{"a":"\\udc00"}', '{"a":1e131072}']) {
      expect(QueueMessage.safeParse(message(data)).success, data).toBe(false);
    }
    // Copying data into an object would silently drop a top-level __proto__ key.
    const proto = QueueMessage.safeParse(message('{"__proto__":{"x":1},"a":1}'));
    expect(proto.error?.issues[0]?.path).toEqual(['data', '__proto__']);
  });

  it('let the consumer take any depth an ingest API may be configured to accept, and no more', () => {
    const message = (levels: number) => ({
      id: 'e1',
      source: 's',
      type: 't',
      timestamp: '2026-01-01T00:00:00Z',
      receivedAt: '2026-01-01T00:00:00Z',
      data: JSON.parse(nestedObjectsJson(levels)),
    });
    expect(QueueMessage.safeParse(message(JSON_DEPTH_CEILING)).success).toBe(true);
    expect(QueueMessage.safeParse(message(JSON_DEPTH_CEILING + 1)).success).toBe(false);
    // Whatever passes must survive what the consumer does with it.
    expect(() => JSON.stringify(message(JSON_DEPTH_CEILING))).not.toThrow();
  });
});
