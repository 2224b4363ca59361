import { type EventRow, EventsRepository } from '@webhooks/db';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PipelineFixture, startPipeline } from '../../../test/helpers/pipeline-fixture.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import { unusedUrl, WebhookReceiver } from '../../../test/helpers/webhook-receiver.js';
import {
  launchChromium,
  looseText,
  screenshot,
  sidewaysOverflow,
  signIn,
  WatchedPages,
} from './fixtures/console-browser.js';

// The delivery controls in the console, in a real browser against the real consumer: a test
// event, a backfill of events stored before the subscription (counted first, then confirmed),
// pause and resume, and a destination that keeps failing, paused by the consumer itself.

const TOKEN = 'console-controls-token-0123456789';
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

let fixture: PipelineFixture;
let browser: Browser;
let pages: WatchedPages;
let base: string;
let receiver: WebhookReceiver;

const auth = { authorization: `Bearer ${TOKEN}` };

const stored = (eventId: string, type: string): EventRow => ({
  eventId,
  source: 'shop',
  type,
  data: { eventId },
  timestamp: '2026-05-06T07:08:09Z',
});

async function create(body: Record<string, unknown>): Promise<{ id: string }> {
  const res = await fixture.consumer.app.inject({
    method: 'POST',
    url: '/subscriptions',
    headers: auth,
    payload: { secret: SECRET, ...body },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

async function stateOf(id: string): Promise<string> {
  const res = await fixture.consumer.app.inject({ url: `/subscriptions/${id}`, headers: auth });
  return res.json().state;
}

async function deliveryCount(id: string): Promise<number> {
  const result = await fixture.database.db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM deliveries WHERE subscription_id = $1',
    [id],
  );
  return result.rows[0]?.n ?? 0;
}

/** The rows of the page's table, each as its cells' text. */
async function rowsOf(page: Page): Promise<string[][]> {
  const rows = await page.locator('tbody tr').all();
  return Promise.all(rows.map((row) => row.locator('td').allTextContents()));
}

beforeAll(async () => {
  receiver = await WebhookReceiver.start({ secrets: [SECRET] });
  fixture = await startPipeline({
    consumerEnv: { OPS_TOKEN: TOKEN, DELIVERY_AUTO_PAUSE_AFTER_MS: '1500' },
  });
  base = await fixture.consumer.app.listen({ port: 0, host: '127.0.0.1' });
  browser = await launchChromium();
  pages = new WatchedPages(browser);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await fixture?.close();
  await receiver?.close();
});

describe('delivery controls in the console, in a real browser', () => {
  it('sends a test event, backfills events stored earlier after counting them, pauses and resumes', async () => {
    // Three orders stored before the subscription exists: it is sent none of them by itself.
    const events = new EventsRepository(fixture.database.db);
    await events.insertBatch([
      stored('order-1', 'order.paid'),
      stored('order-2', 'order.paid'),
      stored('order-3', 'order.paid'),
      stored('customer-1', 'customer.created'),
    ]);
    const archive = await create({
      name: 'archive',
      url: receiver.url,
      filter: { types: ['order.*'] },
    });

    const page = await pages.newPage();
    await signIn(page, base, TOKEN);
    await page.getByRole('link', { name: 'Subscriptions', exact: true }).click();
    await page.getByRole('link', { name: 'archive' }).click();
    await page.getByRole('heading', { name: 'Subscription archive' }).waitFor();
    const controls = page.getByRole('region', { name: 'Controls' });

    // A test event: signed, verified by the receiver, said to be delivered.
    await controls.getByRole('button', { name: 'Send a test event' }).click();
    await expect
      .poll(() => controls.locator('.result').textContent())
      .toMatch(/^Test event delivered: HTTP 200 in \d+ ms\.$/);
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]?.verified).toBe(true);
    expect(JSON.parse(receiver.received[0]?.rawBody ?? '{}').type).toBe('webhook.test');

    // Backfill over the last day (the form's default): counted first, nothing made yet.
    await controls.getByText('Backfill events stored earlier').click();
    const form = controls.getByRole('form', { name: 'Backfill' });
    await form.getByRole('button', { name: 'Count events…' }).click();
    const confirm = controls.getByRole('button', { name: 'Backfill 3 stored events' });
    await confirm.waitFor();
    expect(await controls.locator('.confirm').textContent()).toContain(
      '3 stored events (in the window, matching the filter) will be sent to this subscription',
    );
    expect(await deliveryCount(archive.id)).toBe(0);
    await screenshot(page, 'subscription-backfill');
    await confirm.click();
    await expect
      .poll(() => page.locator('main > .result').textContent())
      .toBe('Queued 3 deliveries of stored events.');
    await receiver.waitForCount(4);
    expect(receiver.received.every((d) => d.verified)).toBe(true);
    expect(await deliveryCount(archive.id)).toBe(3);

    // Counted again: all three have their delivery; none is made twice.
    await controls.getByText('Backfill events stored earlier').click();
    await form.getByLabel('Only types').fill('order.paid');
    await form.getByRole('button', { name: 'Count events…' }).click();
    await controls.getByRole('button', { name: 'Backfill 3 stored events' }).click();
    await expect
      .poll(() => page.locator('main > .result').textContent())
      .toBe('Queued 0 deliveries of stored events; 3 of the 3 matching had one already.');

    // Pause and resume from its screen.
    await controls.getByRole('button', { name: 'Pause' }).click();
    await expect
      .poll(() => page.locator('main > .result').textContent())
      .toBe('Paused archive: its deliveries wait until it is resumed.');
    expect(await stateOf(archive.id)).toBe('paused');
    expect(await page.locator('dl').textContent()).toContain('paused by an operator');
    await page
      .getByRole('region', { name: 'Controls' })
      .getByRole('button', { name: 'Resume' })
      .click();
    await expect
      .poll(() => page.locator('main > .result').textContent())
      .toBe('Resumed archive: what waited is being sent.');
    expect(await stateOf(archive.id)).toBe('active');
    expect(await looseText(page)).toEqual([]);
    await page.close();
  }, 60_000);

  it('shows a destination the consumer paused, with why, and resumes it from the list', async () => {
    const dead = await create({
      name: 'unreachable',
      url: await unusedUrl(),
      filter: { types: ['invoice.*'] },
      retryDelaysMs: Array.from({ length: 20 }, () => 200),
      timeoutMs: 1000,
    });
    const events = new EventsRepository(fixture.database.db);
    await events.insertBatch([
      stored('invoice-1', 'invoice.paid'),
      stored('invoice-2', 'invoice.paid'),
    ]);
    await waitFor(
      'the dead destination paused',
      async () => (await stateOf(dead.id)) === 'paused',
      {
        timeoutMs: 15_000,
      },
    );

    const page = await pages.newPage();
    await signIn(page, base, TOKEN);
    await page.getByRole('link', { name: 'Subscriptions', exact: true }).click();
    await page.getByRole('link', { name: 'unreachable' }).waitFor();
    const row = (await rowsOf(page)).find((cells) => cells[0] === 'unreachable');
    expect(row?.[3]).toMatch(
      /^paused automatically: every attempt failed for 1500 ms \(last error: .*ECONNREFUSED.*\)since /,
    );
    // Pending: both wait; failed: none (their retries were cut short by the pause).
    expect(row?.[4]).toBe('10 at once');
    expect(row?.slice(7, 9)).toEqual(['0', '2']);
    expect(row?.[10]).toBe('Resume');
    await screenshot(page, 'subscriptions-paused');

    await page.getByRole('button', { name: 'Resume unreachable' }).click();
    await expect
      .poll(() => page.locator('main > .result').textContent())
      .toBe('Resumed unreachable: what waited is being sent.');
    const after = (await rowsOf(page)).find((cells) => cells[0] === 'unreachable');
    expect(after?.[3]).toBe('active');

    // Its own screen on a phone: the controls fit.
    const phone = await pages.newPage({ viewport: { width: 390, height: 844 } });
    await signIn(phone, base, TOKEN);
    await phone.goto(`${base}/console#/subscriptions/${dead.id}`);
    await phone.getByRole('heading', { name: 'Subscription unreachable' }).waitFor();
    await phone.getByText('Backfill events stored earlier').click();
    expect(await sidewaysOverflow(phone)).toBeLessThanOrEqual(0);
    await page.close();
    await phone.close();

    expect(pages.requested.filter((url) => !url.startsWith(base))).toEqual([]);
    // The 401s are the console's first requests, before each sign-in; nothing else is an error.
    expect(pages.consoleErrors.filter((text) => !/status of 401/.test(text))).toEqual([]);
  }, 60_000);
});
