import { DEFAULT_MAX_JSON_DEPTH, QueueMessage } from '@webhooks/contracts';
import { WebhookSources } from '@webhooks/providers';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakePublisher } from '../../../test/helpers/fake-publisher.js';
import {
  hasProtoKey,
  hostileString,
  isStorableJson,
  isStorableText,
  type Json,
  jsonObject,
  jsonValue,
  nestedArraysJson,
  nestedObjectsJson,
} from '../../../test/helpers/hostile-json.js';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { buildApp } from '../src/app.js';
import { IngestMetrics } from '../src/metrics.js';

// Whatever a client sends, the answer is a 4xx naming the problem, or a 200 for an event the
// consumer's contract accepts (so PostgreSQL stores it: see storable-json-postgres.test.ts and
// hostile-input-pipeline.test.ts). Never a 5xx, never a crash.

const MAX_BODY_BYTES = 1_048_576;
const MAX_DEPTH = DEFAULT_MAX_JSON_DEPTH;
let publisher: FakePublisher;
let app: ReturnType<typeof buildApp>;

beforeAll(() => {
  publisher = new FakePublisher();
  app = buildApp({
    publisher,
    metrics: new IngestMetrics({ brokerConnected: () => true }),
    logger: testLogger(),
    maxBodyBytes: MAX_BODY_BYTES,
    retryAfterSeconds: 5,
    providerSources: {
      sources: WebhookSources.parse({ plain: { scheme: 'none' } }),
      allowUnknown: false,
    },
  });
});
afterAll(() => app.close());

/** One of the two webhook routes, and how an event's `data` travels in its body. */
interface Route {
  url: string;
  /** A body carrying `data` and, where the route reads them from the body, `type` and `id`. */
  body(data: Record<string, unknown>, fields?: { type?: string; id?: string }): unknown;
  /** The path a refusal names for a path inside `data`. */
  dataPath(path: string): string;
}

const ROUTES: Record<string, Route> = {
  'POST /webhook': {
    url: '/webhook',
    body: (data, fields = {}) => ({ source: 's', type: fields.type ?? 't', id: fields.id, data }),
    dataPath: (path) => `data.${path}`,
  },
  'POST /webhook/:source (scheme none)': {
    url: '/webhook/plain',
    body: (data, fields = {}) => ({ ...data, type: fields.type ?? 't', id: fields.id }),
    dataPath: (path) => path,
  },
};

async function post(url: string, payload: string | Buffer, headers: Record<string, string> = {}) {
  const before = publisher.published.length;
  const res = await app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json', ...headers },
    payload,
  });
  const published = publisher.published.slice(before);
  return { res, published };
}

/** The checks every answer passes, whatever was sent. */
function expectSoundAnswer(outcome: Awaited<ReturnType<typeof post>>): void {
  const { res, published } = outcome;
  expect(res.statusCode).toBeLessThan(500);
  expect(res.headers['content-type']).toContain('application/json');
  if (res.statusCode !== 200) {
    expect(published).toEqual([]);
    expect(res.json().error).toEqual(expect.stringMatching(/^[a-z_]+$/));
    return;
  }
  // What the consumer will do with the message: JSON over the wire, then its contract.
  expect(published).toHaveLength(1);
  const decoded = QueueMessage.safeParse(JSON.parse(JSON.stringify(published[0])));
  expect(decoded.error).toBeUndefined();
  expect(decoded.data).toEqual(published[0]);
}

describe.each(Object.entries(ROUTES))(
  '%s: generated hostile input (properties)',
  (_name, route) => {
    it('random bytes get a 4xx, never a 5xx', async () => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
          expectSoundAnswer(await post(route.url, Buffer.from(bytes)));
        }),
        { numRuns: 300 },
      );
    });

    it('a valid body with random bytes written over it gets a 4xx or a sound 200', async () => {
      const valid = Buffer.from(JSON.stringify(route.body({ note: 'héllo wörld ✓', n: [1, 2] })));
      const damage = fc.array(
        fc.record({
          at: fc.nat({ max: valid.length - 1 }),
          byte: fc.integer({ min: 0, max: 255 }),
        }),
        { minLength: 1, maxLength: 4 },
      );
      await fc.assert(
        fc.asyncProperty(damage, async (writes) => {
          const bytes = Buffer.from(valid);
          for (const { at, byte } of writes) bytes[at] = byte;
          expectSoundAnswer(await post(route.url, bytes));
        }),
        { numRuns: 300 },
      );
    });

    it('random JSON of any shape gets a 4xx or a sound 200', async () => {
      await fc.assert(
        fc.asyncProperty(jsonValue({ maxDepth: 4, string: hostileString() }), async (value) => {
          expectSoundAnswer(await post(route.url, JSON.stringify(value)));
        }),
        { numRuns: 300 },
      );
    });

    it('events are accepted exactly when storable, and published as sent', async () => {
      const events = fc.record({
        type: hostileString({ minLength: 1 }),
        id: hostileString({ minLength: 1 }),
        data: jsonObject({ maxDepth: 4, string: hostileString() }),
      });
      await fc.assert(
        fc.asyncProperty(events, async ({ type, id, data }) => {
          const body = route.body(data, { type, id }) as Record<string, Json>;
          const outcome = await post(route.url, JSON.stringify(body));
          expectSoundAnswer(outcome);
          const storable =
            isStorableJson(body, MAX_DEPTH) &&
            isStorableText(id) &&
            isStorableText(type) &&
            type.trim() !== '';
          expect(outcome.res.statusCode).toBe(storable ? 200 : 400);
          if (storable) {
            const event = outcome.published[0];
            expect(event?.id).toBe(id);
            expect(event?.type).toBe(type.trim());
            const sent = JSON.parse(
              JSON.stringify(route === ROUTES['POST /webhook'] ? data : body),
            );
            expect(event?.data).toEqual(sent);
          } else {
            // Prototype keys are refused by the parser, before the event is looked at.
            const error = hasProtoKey(body) ? 'invalid_payload' : 'validation_failed';
            expect(outcome.res.json().error).toBe(error);
          }
        }),
        { numRuns: 300 },
      );
    });
  },
);

describe.each(Object.entries(ROUTES))('%s: hand-picked hostile input', (_name, route) => {
  const send = (body: unknown) => post(route.url, JSON.stringify(body));
  /** A body whose data holds `json` (raw JSON text) under the key `a`. */
  const sendRaw = (json: string) =>
    post(route.url, JSON.stringify(route.body({ a: '__RAW__' })).replace('"__RAW__"', json));

  describe('nesting', () => {
    it(`accepts data nested ${MAX_DEPTH} levels deep (data itself is level 1)`, async () => {
      const outcome = await sendRaw(nestedObjectsJson(MAX_DEPTH - 1));
      expect(outcome.res.statusCode).toBe(200);
      expectSoundAnswer(outcome);
    });

    it('refuses one level more with 400 validation_failed naming the path', async () => {
      const outcome = await sendRaw(nestedObjectsJson(MAX_DEPTH));
      expect(outcome.res.statusCode).toBe(400);
      expect(outcome.res.json()).toEqual({
        error: 'validation_failed',
        issues: [
          {
            path: route.dataPath(['a', ...Array(MAX_DEPTH - 1).fill('a')].join('.')),
            message: `nested deeper than ${MAX_DEPTH} levels`,
          },
        ],
      });
    });

    it.each([
      ['arrays', nestedArraysJson(300_000)],
      ['objects', nestedObjectsJson(100_000)],
    ])('refuses 100 000+ nested %s quickly, without a stack overflow', async (_kind, json) => {
      const startedMs = performance.now();
      const outcome = await sendRaw(json);
      expect(outcome.res.statusCode).toBe(400);
      expect(outcome.res.json().error).toBe('validation_failed');
      expect(performance.now() - startedMs).toBeLessThan(5000);
    });
  });

  describe('long strings', () => {
    it('accepts a string value that fills the body limit, intact', async () => {
      const text = 'ü'.repeat((MAX_BODY_BYTES - 200) / 2);
      const outcome = await send(route.body({ text }));
      expect(outcome.res.statusCode).toBe(200);
      expect(outcome.published[0]?.data.text).toBe(text);
    });

    it('accepts a 100 000-character key', async () => {
      const key = 'k'.repeat(100_000);
      const outcome = await send(route.body({ [key]: 1 }));
      expect(outcome.res.statusCode).toBe(200);
      expect(Object.keys(outcome.published[0]?.data ?? {})).toContain(key);
    });

    it('answers 413 one byte over the limit', async () => {
      const body = JSON.stringify(route.body({ text: '' }));
      const padded = body.replace(
        '"text":""',
        `"text":"${'x'.repeat(MAX_BODY_BYTES - body.length + 1)}"`,
      );
      expect(Buffer.byteLength(padded)).toBe(MAX_BODY_BYTES + 1);
      const outcome = await post(route.url, padded);
      expect(outcome.res.statusCode).toBe(413);
      expect(outcome.res.json()).toEqual({ error: 'payload_too_large' });
    });
  });

  describe('prototype pollution', () => {
    it.each([
      ['a __proto__ key in data', '{"__proto__":{"polluted":1}}'],
      ['a nested __proto__ key', '{"x":[{"y":{"__proto__":{"polluted":1}}}]}'],
      ['a __proto__ key written with escapes', '{"\\u005f_proto__":{"polluted":1}}'],
      ['a constructor.prototype', '{"x":{"constructor":{"prototype":{"polluted":1}}}}'],
    ])('refuses %s with 400 invalid_payload', async (_case, json) => {
      const outcome = await sendRaw(json);
      expect(outcome.res.statusCode).toBe(400);
      expect(outcome.res.json()).toMatchObject({ error: 'invalid_payload' });
      expect(outcome.res.json().message).toMatch(/prototype/);
    });

    it('stores keys named constructor or prototype when they are plain data', async () => {
      const outcome = await sendRaw('{"constructor":"x","prototype":{"toString":1}}');
      expect(outcome.res.statusCode).toBe(200);
      expect(outcome.published[0]?.data.a).toEqual({
        constructor: 'x',
        prototype: { toString: 1 },
      });
    });

    it('pollutes nothing', () => {
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
    });
  });

  describe('invalid UTF-8', () => {
    it.each([
      ['a byte that never starts a character', [0xff]],
      ['an overlong encoding of "/"', [0xc0, 0xaf]],
      ['an encoded surrogate (CESU-8)', [0xed, 0xa0, 0x80]],
      ['a truncated sequence', [0xe2, 0x82]],
    ])('refuses %s inside a string with 400 invalid_payload', async (_case, bytes) => {
      const [before = '', after = ''] = JSON.stringify(route.body({ text: 'a#b' })).split('#');
      const body = Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);
      const outcome = await post(route.url, body);
      expect(outcome.res.statusCode).toBe(400);
      expect(outcome.res.json()).toEqual({
        error: 'invalid_payload',
        message: 'body is not valid UTF-8',
      });
    });

    it('keeps valid multi-byte UTF-8 exactly, and ignores a byte order mark', async () => {
      const text = 'é ✓ 漢字 😀 \u{10FFFF}';
      const body = Buffer.concat([
        Buffer.from([0xef, 0xbb, 0xbf]),
        Buffer.from(JSON.stringify(route.body({ text }))),
      ]);
      const outcome = await post(route.url, body);
      expect(outcome.res.statusCode).toBe(200);
      expect(outcome.published[0]?.data.text).toBe(text);
    });
  });

  describe('what PostgreSQL cannot store', () => {
    it.each([
      ['a NUL in a value', '{"b":["ok","x\\u0000y"]}', 'a.b.1', /U\+0000/],
      ['a NUL in a key', '{"k\\u0000":1}', 'a.k\u0000', /^key .*U\+0000/],
      ['an unpaired surrogate', '"\\udbff"', 'a', /unpaired/],
      ['a number too large for PostgreSQL numeric', '[1e131072]', 'a.0', /too large/],
      ['a number with too many decimals', '[1e-16384]', 'a.0', /16383 digits after/],
    ])(
      'refuses %s with 400 validation_failed naming the path',
      async (_case, json, path, message) => {
        const outcome = await sendRaw(json);
        expect(outcome.res.statusCode).toBe(400);
        expect(outcome.res.json()).toEqual({
          error: 'validation_failed',
          issues: [{ path: route.dataPath(path), message: expect.stringMatching(message) }],
        });
      },
    );

    it.each([
      ['type', { type: 'order\u0000paid' }],
      ['id', { id: 'evt\u0000' }],
    ])('refuses a NUL in the %s', async (field, fields) => {
      const outcome = await send(route.body({}, fields));
      expect(outcome.res.statusCode).toBe(400);
      expect(outcome.res.json().issues).toEqual([
        expect.objectContaining({ path: field, message: expect.stringMatching(/U\+0000/) }),
      ]);
    });

    it('refuses a raw NUL byte (not escaped) as malformed JSON', async () => {
      const body = JSON.stringify(route.body({ text: 'a#b' })).replace('#', '\u0000');
      const outcome = await post(route.url, body);
      expect(outcome.res.statusCode).toBe(400);
      expect(outcome.res.json().error).toBe('invalid_payload');
    });
  });
});

describe('POST /webhook: hostile input outside data', () => {
  it.each([
    ['a NUL in the source', { source: 'shop\u0000', type: 't' }, 'source'],
    ['an unpaired surrogate in the source', { source: '\ud800', type: 't' }, 'source'],
    [
      'deep nesting in the source',
      { source: JSON.parse(nestedArraysJson(1000)), type: 't' },
      'source',
    ],
    [
      'deep nesting in an unknown field',
      { source: 's', type: 't', x: JSON.parse(nestedObjectsJson(1000)) },
      '',
    ],
  ])('refuses %s with 400 validation_failed', async (_case, body, path) => {
    const outcome = await post('/webhook', JSON.stringify(body));
    expect(outcome.res.statusCode).toBe(400);
    expect(outcome.res.json().error).toBe('validation_failed');
    expect(outcome.res.json().issues[0].path).toBe(path);
  });

  it('refuses a deep body whose nesting is all outside data (JSON parses it without recursion)', async () => {
    const outcome = await post('/webhook', nestedArraysJson(500_000));
    expect(outcome.res.statusCode).toBe(400);
  });
});

describe('POST /webhook/:source: hostile paths', () => {
  it.each([
    ['a 1000-character source', `/webhook/${'a'.repeat(1000)}`],
    ['an encoded NUL', '/webhook/pl%00ain'],
    ['invalid percent-encoding', '/webhook/%E0%A4%A'],
    ['a prototype member', '/webhook/__proto__'],
    ['an encoded slash', '/webhook/plain%2F..'],
  ])('answers %s with a 4xx and publishes nothing', async (_case, url) => {
    const outcome = await post(url, JSON.stringify({ type: 't' }));
    expect(outcome.res.statusCode).toBeGreaterThanOrEqual(400);
    expectSoundAnswer(outcome);
  });
});

describe('a configured MAX_JSON_DEPTH', () => {
  it('is the limit both routes apply', async () => {
    const shallow = buildApp({
      publisher: new FakePublisher(),
      metrics: new IngestMetrics({ brokerConnected: () => true }),
      logger: testLogger(),
      maxBodyBytes: MAX_BODY_BYTES,
      maxJsonDepth: 3,
      retryAfterSeconds: 5,
      providerSources: {
        sources: WebhookSources.parse({ plain: { scheme: 'none' } }),
        allowUnknown: false,
      },
    });
    try {
      const statuses = [];
      for (const [url, levels] of [
        ['/webhook', 3],
        ['/webhook', 4],
        ['/webhook/plain', 3],
        ['/webhook/plain', 4],
      ] as const) {
        const data = JSON.parse(nestedObjectsJson(levels));
        const body = url === '/webhook' ? { source: 's', type: 't', data } : { ...data, type: 't' };
        const res = await shallow.inject({
          method: 'POST',
          url,
          headers: { 'content-type': 'application/json' },
          payload: JSON.stringify(body),
        });
        statuses.push(res.statusCode);
      }
      expect(statuses).toEqual([200, 400, 200, 400]);
    } finally {
      await shallow.close();
    }
  });
});
