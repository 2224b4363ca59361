import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type EventRow, EventsRepository } from '@webhooks/db';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PipelineFixture, startPipeline } from '../../../test/helpers/pipeline-fixture.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import { signWebhook } from '../src/delivery/webhook-signature.js';
import {
  launchChromium,
  looseText,
  screenshot,
  sidewaysOverflow,
  signIn,
  WatchedPages,
} from './fixtures/console-browser.js';

// Subscriptions in the console, in a real browser against the real consumer: one is created
// from the form (its secret shown once), events are stored, the consumer sends them to a
// receiver here that refuses them, and the operator finds the failed deliveries, reads their
// attempts and replays them.

const TOKEN = 'console-subscriptions-token-0123456789';
/** What the receiver answers while it is "busy": the start of it is kept with each attempt. */
const BUSY_ANSWER = 'busy: try again later';
/** The one event the receiver takes at once. */
const TAKEN_AT_ONCE = 'order-3';

let fixture: PipelineFixture;
let browser: Browser;
let pages: WatchedPages;
let base: string;

/**
 * The service subscribed. `busy`: 503 for every event but `TAKEN_AT_ONCE`; `hold`: keeps each
 * request waiting (the delivery stays pending) until `releaseHeld` answers it with a 200.
 */
const receiver = {
  mode: 'busy' as 'busy' | 'hold',
  held: [] as ServerResponse[],
  /** Headers and body of each request that got a 2xx. */
  taken: [] as Array<{ headers: IncomingHttpHeaders; body: string }>,
  url: '',
};
const receiverServer = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const body = Buffer.concat(chunks).toString();
    const { id } = JSON.parse(body) as { id: string };
    if (id === TAKEN_AT_ONCE) {
      receiver.taken.push({ headers: request.headers, body });
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    } else if (receiver.mode === 'busy') {
      response.writeHead(503, { 'content-type': 'text/plain' }).end(BUSY_ANSWER);
    } else {
      receiver.held.push(response);
    }
  });
});

function releaseHeld() {
  for (const response of receiver.held.splice(0)) response.writeHead(200).end('thanks');
}

const auth = { authorization: `Bearer ${TOKEN}` };

/** Deliveries of the test's database by status: `{ failed: 3, delivered: 1 }`. */
async function deliveryCounts(): Promise<Record<string, number>> {
  const result = await fixture.database.db.query<{ status: string; count: number }>(
    'SELECT status, count(*)::int AS count FROM deliveries GROUP BY status',
  );
  return Object.fromEntries(result.rows.map((r) => [r.status, r.count]));
}

const stored = (eventId: string, source: string, type: string): EventRow => ({
  eventId,
  source,
  type,
  data: { eventId, total: '12.50' },
  timestamp: '2026-05-06T07:08:09Z',
});

beforeAll(async () => {
  await new Promise<void>((resolve) => receiverServer.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(receiverServer.address() as AddressInfo).port}/hooks`;
  fixture = await startPipeline({ consumerEnv: { OPS_TOKEN: TOKEN } });
  base = await fixture.consumer.app.listen({ port: 0, host: '127.0.0.1' });
  browser = await launchChromium();
  pages = new WatchedPages(browser);
}, 120_000);

afterAll(async () => {
  releaseHeld();
  await browser?.close();
  await fixture?.close();
  receiverServer.closeAllConnections();
  await new Promise((resolve) => receiverServer.close(resolve));
});

/** The rows of the page's table, each as its cells' text. */
async function rowsOf(page: Page): Promise<string[][]> {
  const rows = await page.locator('tbody tr').all();
  return Promise.all(rows.map((row) => row.locator('td').allTextContents()));
}

/** The status badges of the deliveries table, in order. */
function statuses(page: Page): Promise<string[]> {
  return page.locator('tbody .badge').allTextContents();
}

describe('subscriptions in the console, in a real browser', () => {
  it('creates a subscription with its secret shown once, finds its failed deliveries and their attempts, and replays them', async () => {
    const page = await pages.newPage({ permissions: ['clipboard-read', 'clipboard-write'] });
    await signIn(page, base, TOKEN);

    // None yet: the form is open. Created by keyboard, Enter in the last field.
    await page.getByRole('link', { name: 'Subscriptions', exact: true }).click();
    await page.getByRole('heading', { name: 'Subscriptions', level: 1 }).waitFor();
    expect(await page.getByRole('main').textContent()).toContain('No subscription yet');
    const form = page.getByRole('form', { name: 'New subscription' });
    await form.getByLabel('Name').fill('orders');
    await form.getByLabel('URL').fill(receiver.url);
    await form.getByLabel('Sources').fill('shop');
    await form.getByLabel('Types').fill(' order.* ,refund, ');
    await form.getByLabel('Types').press('Enter');

    // The secret, this once, with a button that copies it and a note that says so.
    const created = page.getByRole('region', { name: 'Created orders' });
    await created.waitFor();
    const secret = (await created.getByLabel('Its signing secret:').textContent()) ?? '';
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(await created.textContent()).toContain('It will not be shown again.');
    await screenshot(page, 'subscription-created');
    await created.getByRole('button', { name: 'Copy secret' }).click();
    await expect.poll(() => page.evaluate<string>('navigator.clipboard.readText()')).toBe(secret);
    expect(await rowsOf(page)).toEqual([
      [
        'orders',
        receiver.url,
        'sources shop; types order.*, refund',
        'active',
        '10 at once',
        '0',
        '0',
        '0',
        '0',
        '—',
        'Pause',
      ],
    ]);

    // A second one of that name is refused, and says why.
    await page.getByText('New subscription', { exact: true }).click();
    await form.getByLabel('Name').fill('orders');
    await form.getByLabel('URL').fill(receiver.url);
    await form.getByRole('button', { name: 'Create subscription' }).click();
    await expect
      .poll(() => form.getByRole('alert').textContent())
      .toBe('Another subscription has this name.');

    // Shown again, the list never shows the secret.
    await page.reload();
    await page.getByRole('link', { name: 'orders' }).waitFor();
    expect(await page.getByRole('main').textContent()).not.toContain('whsec_');

    // One retry 0.1 s after the first attempt, then failed; attempts may wait a minute.
    const listed = await fixture.consumer.app.inject({ url: '/subscriptions', headers: auth });
    const subscriptionId: string = listed.json().items[0].id;
    const patched = await fixture.consumer.app.inject({
      method: 'PATCH',
      url: `/subscriptions/${subscriptionId}`,
      headers: auth,
      // Ordered per customer: these events have no customer, so they go unordered.
      payload: {
        retryDelaysMs: [100],
        timeoutMs: 60_000,
        rateLimitPerSecond: 50,
        ordering: { key: '/data/customer/id' },
      },
    });
    expect(patched.statusCode).toBe(200);

    // Stored events: four match, the receiver takes one and refuses the others twice.
    const events = new EventsRepository(fixture.database.db);
    await events.insertBatch([
      stored('order-1', 'shop', 'order.paid'),
      stored('order-2', 'shop', 'order.paid'),
      stored(TAKEN_AT_ONCE, 'shop', 'order.paid'),
      stored('refund-1', 'shop', 'refund'),
      stored('invoice-1', 'billing', 'invoice.created'),
      stored('customer-1', 'shop', 'customer.created'),
    ]);
    await waitFor(
      'three deliveries failed and one delivered',
      async () => {
        const counts = await deliveryCounts();
        return counts.failed === 3 && counts.delivered === 1 && Object.keys(counts).length === 2;
      },
      { timeoutMs: 20_000 },
    );
    // The secret the console showed is the one deliveries are signed with.
    const [taken] = receiver.taken;
    expect(taken?.headers['webhook-signature']).toBe(
      signWebhook({
        webhookId: String(taken?.headers['webhook-id']),
        timestampSeconds: Number(taken?.headers['webhook-timestamp']),
        body: taken?.body ?? '',
        secrets: [secret],
      }),
    );

    // Health in the list: delivered and failed in the last hour, nothing pending, the error.
    await page.reload();
    await page.getByRole('link', { name: 'orders' }).waitFor();
    const [row] = await rowsOf(page);
    expect(row?.slice(0, 9)).toEqual([
      'orders',
      receiver.url,
      'sources shop; types order.*, refundin order per /data/customer/id',
      'active',
      '10 at once, 50/s',
      '1',
      '3',
      '3',
      '0',
    ]);
    expect(row?.[9]).toMatch(/^HTTP 503\S/);
    await screenshot(page, 'subscriptions');

    // Its screen: health, settings, every delivery.
    await page.getByRole('link', { name: 'orders' }).click();
    await page.getByRole('heading', { name: 'Subscription orders' }).waitFor();
    const health = page.getByRole('region', { name: 'Health' });
    expect(await health.textContent()).toContain('HTTP 503');
    expect(await page.getByRole('main').textContent()).toContain('100 ms; then failed');
    expect(await page.getByRole('main').textContent()).toContain('in order per /data/customer/id');
    await expect.poll(() => statuses(page)).toHaveLength(4);
    expect((await statuses(page)).sort()).toEqual(['delivered', 'failed', 'failed', 'failed']);
    await screenshot(page, 'subscription');

    // Filtered to the failed ones.
    await page.getByLabel('Status').selectOption('failed');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => statuses(page)).toEqual(['failed', 'failed', 'failed']);
    expect(page.url()).toContain('status=failed');
    expect(await page.getByRole('link', { name: TAKEN_AT_ONCE }).count()).toBe(0);

    // One of them: its two attempts, the status and the start of each answer.
    await page.getByRole('link', { name: 'order-1' }).click();
    await page.getByRole('heading', { name: 'Delivery of order-1' }).waitFor();
    const attempts = page.getByRole('table', { name: 'Attempts, oldest first' });
    await expect.poll(() => attempts.locator('tbody tr').count()).toBe(2);
    for (const cells of await rowsOf(page)) {
      expect(cells[2]).toBe('HTTP 503');
      expect(cells[4]).toBe(BUSY_ANSWER);
    }
    await screenshot(page, 'delivery');
    // The stored event it carries.
    await page.getByRole('link', { name: 'Open the stored event' }).click();
    await page.getByRole('heading', { name: 'Event order-1' }).waitFor();
    await page.goBack();
    await page.getByRole('heading', { name: 'Delivery of order-1' }).waitFor();
    await page.goBack();
    await page.getByRole('heading', { name: 'Subscription orders' }).waitFor();
    await expect.poll(() => statuses(page)).toEqual(['failed', 'failed', 'failed']);

    // Replay the failed ones: the count first, then, confirmed, the list again with every
    // status, saying how many were queued. The receiver now holds them: they stay pending.
    receiver.mode = 'hold';
    await page.getByRole('button', { name: 'Replay failed deliveries…' }).click();
    const confirm = page.getByRole('button', { name: 'Replay 3 deliveries' });
    await confirm.waitFor();
    expect(await page.locator('.confirm').textContent()).toContain(
      '3 deliveries (every failed one) will be pending again',
    );
    expect(await deliveryCounts()).toEqual({ failed: 3, delivered: 1 });
    await confirm.click();
    await expect
      .poll(() => page.locator('.result').textContent())
      .toBe('Queued 3 deliveries to be sent again, from the start of the retry schedule.');
    expect(page.url()).not.toContain('status=');
    expect((await statuses(page)).sort()).toEqual(['delivered', 'pending', 'pending', 'pending']);
    expect(await looseText(page)).toEqual([]);

    // Once the receiver answers, all four are delivered.
    await waitFor('the three replayed deliveries sent', () => receiver.held.length === 3);
    releaseHeld();
    await waitFor('all four delivered', async () => (await deliveryCounts()).delivered === 4);
    await page.reload();
    await expect
      .poll(() => statuses(page))
      .toEqual(['delivered', 'delivered', 'delivered', 'delivered']);

    // One sent again by id, from its own screen.
    await page.getByRole('link', { name: 'order-1' }).click();
    await page.getByRole('heading', { name: 'Delivery of order-1' }).waitFor();
    await expect.poll(() => attempts.locator('tbody tr').count()).toBe(3);
    await page.getByRole('button', { name: 'Send again…' }).click();
    await page.getByRole('button', { name: 'Send it again' }).click();
    await expect
      .poll(() => page.locator('.result').textContent())
      .toBe('Queued 1 delivery to be sent again, from the start of the retry schedule.');
    expect(await page.locator('dl .badge').first().textContent()).toBe('pending');
    expect(await deliveryCounts()).toEqual({ pending: 1, delivered: 3 });
    await page.close();
  }, 120_000);

  it('is readable on a phone, and loads nothing from anywhere else', async () => {
    const page = await pages.newPage({ viewport: { width: 390, height: 844 } });
    await signIn(page, base, TOKEN);
    await page.getByRole('link', { name: 'Subscriptions', exact: true }).click();
    await page.getByRole('link', { name: 'orders' }).click();
    await page.getByRole('heading', { name: 'Subscription orders' }).waitFor();
    await expect.poll(() => statuses(page)).toHaveLength(4);
    expect(await sidewaysOverflow(page)).toBeLessThanOrEqual(0);
    await screenshot(page, 'subscription-phone');
    await page.close();

    expect(pages.requested.filter((url) => !url.startsWith(base))).toEqual([]);
    // The 409 of the refused name is the answer the test asked for; nothing else is an error.
    expect(pages.consoleErrors.filter((text) => !/status of (401|409)/.test(text))).toEqual([]);
  }, 60_000);
});
