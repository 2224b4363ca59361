import { parseExactJson, stringifyExactJson } from '@webhooks/contracts';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonNumberText } from '../../../test/helpers/json-number.js';
import { type PipelineFixture, startPipeline } from '../../../test/helpers/pipeline-fixture.js';
import { waitFor } from '../../../test/helpers/wait-for.js';

// Numbers travel as the sender wrote them: through the ingest API, the queue message, the
// consumer and the insert; the database holds what jsonb makes of the text sent, and the
// events API answers with those digits.

let fixture: PipelineFixture;

beforeAll(async () => {
  fixture = await startPipeline({ ingestEnv: { WEBHOOK_ALLOW_UNKNOWN_SOURCES: 'true' } });
});
afterAll(() => fixture?.close());

/** POSTs JSON text as is: `inject` would run an object through JSON.stringify. */
function postText(url: string, text: string) {
  return fixture.ingest.app.inject({
    method: 'POST',
    url,
    headers: { 'content-type': 'application/json' },
    payload: text,
  });
}

/** The stored row's uuid and `data::text`, once it is there. */
function storedRow(source: string, eventId: string) {
  return waitFor(`the row ${source}/${eventId}`, async () => {
    const result = await fixture.database.db.query<{ id: string; data: string }>(
      'SELECT id, data::text AS data FROM webhook_events WHERE source = $1 AND event_id = $2',
      [source, eventId],
    );
    return result.rows[0];
  });
}

/** What jsonb makes of `text`. */
async function asJsonb(text: string): Promise<string> {
  const result = await fixture.database.db.query<{ data: string }>(
    'SELECT $1::jsonb::text AS data',
    [text],
  );
  return result.rows[0]?.data ?? '';
}

/** `GET` on the consumer's events API, as text, failing on anything but 200 JSON. */
async function getText(url: string): Promise<string> {
  const res = await fixture.consumer.app.inject({ method: 'GET', url });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  return res.body;
}

describe('numbers are stored and shown with every digit', () => {
  it('the Shopify order: stored and read back through the events API digit for digit', async () => {
    const body =
      '{"id":"shop-1","source":"shopify","type":"orders/create","data":{"id":820982911946154508,"n":12345678901234567890,"weight":1.10}}';
    const res = await postText('/webhook', body);
    expect(res.json()).toEqual({ status: 'success', id: 'shop-1' });

    const row = await storedRow('shopify', 'shop-1');
    // jsonb's own text: keys shortest first, then every digit as sent.
    const stored = '{"n": 12345678901234567890, "id": 820982911946154508, "weight": 1.10}';
    expect(row.data).toBe(stored);

    const one = await getText(`/events/${row.id}`);
    expect(one).toContain(`"data":${stored}`);
    const page = await getText('/events?source=shopify');
    expect(page).toContain(`"data":${stored}`);
    // Valid JSON, with the same fields as before.
    expect(JSON.parse(one)).toMatchObject({ id: row.id, eventId: 'shop-1', source: 'shopify' });
    expect(JSON.parse(page)).toMatchObject({ items: [{ id: row.id }], nextCursor: null });
  });

  it('long decimals and exponents: what jsonb makes of them, e.g. 1e400 in full', async () => {
    const data = '{"d":0.1000000000000000055511151231257827,"big":1e400,"tiny":2.5E-3,"z":1.0}';
    const res = await postText(
      '/webhook',
      `{"id":"num-1","source":"nums","type":"t","data":${data}}`,
    );
    expect(res.statusCode).toBe(200);
    const row = await storedRow('nums', 'num-1');
    const expected = await asJsonb(data);
    expect(expected).toContain(`"big": 1${'0'.repeat(400)}`);
    expect(expected).toContain('"d": 0.1000000000000000055511151231257827');
    expect(row.data).toBe(expected);
    expect(await getText(`/events/${row.id}`)).toContain(`"data":${expected}`);
  });

  it('a provider route keeps them too, and a 64-bit numeric id is the event id as written', async () => {
    const body = '{"id":820982911946154508,"type":"orders/create","total":19.90}';
    const res = await postText('/webhook/shop-provider', body);
    expect(res.json()).toEqual({ status: 'success', id: '820982911946154508' });
    const row = await storedRow('shop-provider', '820982911946154508');
    expect(row.data).toBe(await asJsonb(body));
    expect(row.data).toContain('"total": 19.90');
  });

  it('random big integers, decimals and exponents arrive as jsonb reads the text sent (property)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(jsonNumberText(), { minLength: 1, maxLength: 6 }),
        async (numbers) => {
          run += 1;
          const data = `{"n":[${numbers.join(',')}],"first":${numbers[0]}}`;
          const res = await postText(
            '/webhook',
            `{"id":"p-${run}","source":"prop","type":"t","data":${data}}`,
          );
          expect(res.statusCode).toBe(200);
          const row = await storedRow('prop', `p-${run}`);
          const expected = await asJsonb(data);
          expect(row.data).toBe(expected);
          const shown = await getText(`/events/${row.id}`);
          expect(shown).toContain(`"data":${expected}`);
          // A lossless reader of the API gets the numbers' digits as stored.
          const parsed = parseExactJson(shown) as { data: unknown };
          expect(stringifyExactJson(parsed.data)).toBe(
            stringifyExactJson(parseExactJson(expected)),
          );
        },
      ),
      { numRuns: 40 },
    );
  });
});
