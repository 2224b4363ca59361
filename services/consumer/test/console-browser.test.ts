import { execFile } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { DeathReason, RejectionReason } from '@webhooks/contracts';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  failInserts,
  type PipelineFixture,
  startPipeline,
} from '../../../test/helpers/pipeline-fixture.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import {
  launchChromium,
  looseText,
  screenshot,
  sidewaysOverflow,
  signIn as signInAt,
  WatchedPages,
} from './fixtures/console-browser.js';

const TOKEN = 'console-browser-token-0123456789';
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);
/** GitHub's secret as the API has it, and the rotated one the provider already signs with. */
const SECRETS = { old: randomBytes(20).toString('hex'), new: randomBytes(20).toString('hex') };
/** A GitHub organisation's hooks; not "github", a source the other events use unsigned. */
const PROVIDER = 'github-org';
const sourcesWith = (secret: string) =>
  JSON.stringify({ [PROVIDER]: { scheme: 'github', secret } });
/** A GitHub push signed with the new secret, its body carrying markup that must stay text. */
const ROTATED_ID = randomUUID();
const ROTATED_BODY = JSON.stringify({
  ref: 'refs/heads/main',
  delivery: ROTATED_ID,
  pusher: { name: '<img src=x onerror=alert(1)><b>ann</b>' },
});
let fixture: PipelineFixture;
let refused: { stop(): Promise<void> };
let browser: Browser;
let pages: WatchedPages;
let base: string;

beforeAll(async () => {
  fixture = await startPipeline({
    consumerEnv: { OPS_TOKEN: TOKEN },
    ingestEnv: { WEBHOOK_SOURCES: sourcesWith(SECRETS.old), KEEP_REJECTED: 'true' },
    prepareDatabase: async (db) => {
      refused = await failInserts(db, { eventIdLike: 'order-broken-%', sqlstate: '22023' });
    },
  });
  const { ingest, consumer } = fixture;
  const events = [];
  for (let i = 1; i <= 24; i++) {
    const source = ['shop', 'github', 'billing'][i % 3] as string;
    events.push({
      source,
      type: source === 'shop' ? 'order.paid' : source === 'github' ? 'push' : 'invoice.created',
      id: `${source}-${1000 + i}`,
      data: { order: { id: 4200 + i, total: `${i * 3}.50` }, customer: `c-${i}` },
    });
  }
  events.push(
    { source: 'shop', type: 'order.paid', id: 'order-broken-1', data: { order: { id: 9001 } } },
    { source: 'shop', type: 'order.paid', id: 'order-broken-2', data: { order: { id: 9002 } } },
  );
  for (const body of events) expect((await ingest.post(body)).statusCode).toBe(200);
  await fixture.admin.publishRaw(fixture.topology.queue, Buffer.from('{"truncated":'), {
    messageId: 'garbled-1',
  });
  // Refused by the real ingest API and kept: a delivery signed with the rotated secret (401)
  // and one for a source it does not know (404).
  const signature = `sha256=${createHmac('sha256', SECRETS.new).update(ROTATED_BODY).digest('hex')}`;
  const rotated = await ingest.app.inject({
    method: 'POST',
    url: `/webhook/${PROVIDER}`,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': ROTATED_ID,
      'x-hub-signature-256': signature,
      authorization: 'Bearer hunter2',
    },
    payload: ROTATED_BODY,
  });
  expect(rotated.statusCode).toBe(401);
  const unknown = await ingest.app.inject({
    method: 'POST',
    url: '/webhook/gitlab',
    headers: { 'content-type': 'application/json' },
    payload: '{"object_kind":"push"}',
  });
  expect(unknown.statusCode).toBe(404);
  await waitFor('24 stored, 3 dead letters recorded, 2 refused requests kept', async () => {
    const stored = await fixture.database.db.query('SELECT 1 FROM webhook_events');
    const dead = await fixture.database.db.query('SELECT 1 FROM dead_letters');
    const kept = await fixture.database.db.query('SELECT 1 FROM rejected_requests');
    return stored.rowCount === 24 && dead.rowCount === 3 && kept.rowCount === 2;
  });

  const address = await consumer.app.listen({ port: 0, host: '127.0.0.1' });
  base = address;
  browser = await launchChromium();
  pages = new WatchedPages(browser);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await fixture?.close();
});

const newPage = (viewport = { width: 1280, height: 860 }) => pages.newPage({ viewport });
const signIn = (page: Page) => signInAt(page, base, TOKEN);

/** The values the Reason filter offers, "any" first. */
function reasonOptions(page: Page) {
  // A string: this file is type-checked without the DOM's types; it runs in the page.
  return page.evaluate<string[]>(
    "[...document.getElementById('filter-reason').options].map((o) => o.value)",
  );
}

/** Runs `pnpm rejected:replay` with the arguments the console shows, the secret fixed. */
function replayRejected(args: string[]) {
  const { topology, database } = fixture;
  return run('pnpm', ['--silent', 'rejected:replay', ...args], {
    cwd: ROOT,
    env: {
      ...process.env,
      DATABASE_URL: database.url,
      AMQP_URL: inject('amqpUrl'),
      EXCHANGE_NAME: topology.exchange,
      QUEUE_NAME: topology.queue,
      QUEUE_TYPE: topology.queueType,
      RETRY_DELAYS_MS: topology.retryQueues.map((q) => q.delayMs).join(','),
      WEBHOOK_SOURCES: sourcesWith(SECRETS.new),
      LOG_LEVEL: 'warn',
    },
    timeout: 60_000,
  });
}

describe('the console in a real browser', () => {
  it('signs in, finds an event by filter, opens it, replays a dead letter and sees it stored', async () => {
    const page = await newPage();
    await page.goto(`${base}/console`);

    // Signing in, by keyboard: a wrong token is refused, the right one opens the overview.
    const tokenInput = page.getByLabel('Operations token');
    await tokenInput.fill('not-the-token-000000');
    await tokenInput.press('Enter');
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not accepted');
    await screenshot(page, 'sign-in');
    await tokenInput.fill(TOKEN);
    await tokenInput.press('Enter');
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    expect(page.url()).not.toContain(TOKEN);
    const overview = page.getByRole('main');
    await expect.poll(() => overview.textContent()).toContain('rejected_by_database');
    expect(await page.getByRole('cell', { name: 'shop', exact: true }).count()).toBe(1);
    await screenshot(page, 'overview');

    // Events: filter by JSON containment on data, open the one found.
    await page.getByRole('link', { name: 'Events', exact: true }).click();
    await page.getByRole('heading', { name: 'Events' }).waitFor();
    await page.getByLabel('Data contains (JSON)').fill('{"order":{"id":4207}}');
    await page.getByLabel('Source').fill('github');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    await page.getByLabel('Source').fill('');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    await page.getByLabel('Data contains (JSON)').fill('');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(24);
    await screenshot(page, 'events');
    await page.getByLabel('Data contains (JSON)').fill('{"order":{"id":4207}}');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    await page.getByRole('link', { name: 'github-1007' }).click();

    await page.getByRole('heading', { name: 'Event github-1007' }).waitFor();
    const data = await page.getByLabel('Data, as stored').textContent();
    // Exactly as PostgreSQL returns it, indented: "21.50" stays a string, key order is jsonb's.
    expect(data).toBe(
      '{\n  "order": {\n    "id": 4207,\n    "total": "21.50"\n  },\n  "customer": "c-7"\n}',
    );
    const curl = await page.getByLabel('curl command').textContent();
    expect(curl).toContain('/webhook');
    expect(curl).toContain('"id":"github-1007"');
    expect(curl).toContain('"data":{"order": {"id": 4207, "total": "21.50"}, "customer": "c-7"}');
    // The body it sends is one the ingest API accepts, for the same event.
    const resent = await fixture.ingest.app.inject({
      method: 'POST',
      url: '/webhook',
      headers: { 'content-type': 'application/json' },
      payload: curl?.split('\n')[3] ?? '',
    });
    expect(resent.statusCode).toBe(200);
    expect(resent.json().id).toBe('github-1007');
    await screenshot(page, 'event-detail');

    // Dead letters: filter by reason, find the refused order with its reason and error.
    await page.getByRole('link', { name: 'Dead letters', exact: true }).click();
    await page.getByRole('heading', { name: 'Dead letters' }).waitFor();
    expect(await reasonOptions(page)).toEqual(['', ...DeathReason.options]);
    await page.getByLabel('Reason').selectOption('rejected_by_database');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(2);
    expect(await page.getByRole('cell', { name: 'invalid_message' }).count()).toBe(0);
    await screenshot(page, 'dead-letters');

    // Replaying everything matching the filter shows the count first; cancel it.
    await page.getByRole('button', { name: 'Replay all matching the filter…' }).click();
    await expect
      .poll(() => page.locator('.confirm').first().textContent())
      .toContain('2 dead letters');
    await screenshot(page, 'replay-confirm');
    await page.getByRole('button', { name: 'Cancel' }).click();

    await page.getByRole('link', { name: 'order-broken-1' }).click();
    await page.getByRole('heading', { name: 'Dead letter order-broken-1' }).waitFor();
    const details = page.getByRole('main');
    expect(await details.textContent()).toContain('rejected_by_database');
    expect(await page.getByLabel('Last error').textContent()).toContain('simulated failure');
    await screenshot(page, 'dead-letter-detail');

    // The cause is fixed: replay this one, after the count is shown, and see it stored.
    await refused.stop();
    await page.getByRole('button', { name: 'Replay this dead letter…' }).click();
    const confirm = page.getByRole('button', { name: 'Replay 1 dead letter' });
    await confirm.waitFor();
    await confirm.click();
    await expect
      .poll(() => page.locator('.result').textContent())
      .toContain('Moved 1 message of 1 dead letter');
    await waitFor(
      'the replayed event shown as stored',
      async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        const status = page.locator('.badge').first();
        await status.waitFor();
        if ((await status.textContent()) === 'stored') return true;
        // Not yet: back to a state with a Refresh button (the replay result is gone).
        await page.reload();
        await page.getByRole('heading', { name: 'Dead letter order-broken-1' }).waitFor();
        return (await page.locator('.badge').first().textContent()) === 'stored';
      },
      { timeoutMs: 20_000, intervalMs: 250 },
    ).catch(async (err) => {
      throw new Error(`${err}; page: ${await page.getByRole('main').textContent()}`);
    });
    expect(await looseText(page)).toEqual([]);
    await page.getByRole('link', { name: 'Open the stored event' }).click();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    expect(await page.getByRole('link', { name: 'order-broken-1' }).count()).toBe(1);
    await page.close();
  }, 120_000);

  it('finds a refused provider request in the quarantine by filter, shows it as text, and gives the replay command that admits it', async () => {
    const page = await newPage();
    await signIn(page);
    await page.getByRole('link', { name: 'Rejected', exact: true }).click();
    await page.getByRole('heading', { name: 'Rejected requests' }).waitFor();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(2);

    expect(await reasonOptions(page)).toEqual(['', ...RejectionReason.options]);
    // By keyboard: the reason filter, then Enter in the source field submits the form.
    await page.getByLabel('Reason').selectOption('invalid_signature');
    const source = page.getByLabel('Source');
    await source.fill(PROVIDER);
    await source.press('Enter');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    expect(page.url()).toContain('reason=invalid_signature');
    expect(await page.getByRole('cell', { name: 'unknown_source' }).count()).toBe(0);
    await page.getByLabel('Reason').selectOption('unknown_source');
    await source.fill('');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect
      .poll(() => page.getByRole('cell', { name: 'gitlab', exact: true }).count())
      .toBe(1);
    await page.getByLabel('Reason').selectOption('invalid_signature');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect
      .poll(() => page.getByRole('cell', { name: 'gitlab', exact: true }).count())
      .toBe(0);
    await screenshot(page, 'rejected');

    const link = page.getByRole('link', {
      name: `Rejected request from ${PROVIDER}`,
      exact: false,
    });
    await link.focus();
    await link.press('Enter');
    await page.getByRole('heading', { name: `Rejected request from ${PROVIDER}` }).waitFor();
    const main = page.getByRole('main');
    expect(await main.textContent()).toContain('invalid_signature');
    // The raw body, byte for byte as text: its markup is shown, never made into elements.
    expect(await page.getByLabel(/^Body, raw text/).textContent()).toBe(ROTATED_BODY);
    expect(await main.locator('img, b, script').count()).toBe(0);
    // The kept headers, the credential gone.
    const headers = page.getByRole('table', { name: 'Headers, as kept' });
    expect(await headers.textContent()).toContain(ROTATED_ID);
    expect(await headers.textContent()).not.toContain('hunter2');
    expect(await headers.getByRole('rowheader', { name: 'authorization' }).count()).toBe(0);
    const command = (await page.getByLabel('Replay command').textContent()) ?? '';
    expect(command).toMatch(
      new RegExp(`^pnpm rejected:replay --source ${PROVIDER} --since \\S+Z$`),
    );
    await screenshot(page, 'rejected-detail');

    // The command, run as shown once the secret is fixed, admits exactly this delivery.
    const args = command.replace(/^pnpm rejected:replay /, '').split(' ');
    const replayed = await replayRejected(args);
    expect(replayed.stdout).toBe('verified 1, still rejected 0, published 1\n');
    await waitFor('the admitted delivery stored', async () => {
      const stored = await fixture.database.db.query(
        'SELECT 1 FROM webhook_events WHERE source = $1 AND event_id = $2',
        [PROVIDER, ROTATED_ID],
      );
      return stored.rowCount === 1;
    });
    await page.reload();
    await page.getByRole('heading', { name: `Rejected request from ${PROVIDER}` }).waitFor();
    expect(await main.textContent()).toContain(`as event ${ROTATED_ID}`);
    expect(await page.getByLabel('Replay command').count()).toBe(0);
    expect(await looseText(page)).toEqual([]);
    await page.close();
  }, 120_000);

  it('is readable on a phone, and loads nothing from anywhere else', async () => {
    const page = await newPage({ width: 390, height: 844 });
    await signIn(page);
    await page.goto(`${base}/console#/dead-letters`);
    await page.getByRole('heading', { name: 'Dead letters' }).waitFor();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(3);
    // The page itself never scrolls sideways; a wide table scrolls inside its own box.
    expect(await sidewaysOverflow(page)).toBeLessThanOrEqual(0);
    await screenshot(page, 'dead-letters-phone');
    await page.goto(`${base}/console#/rejected`);
    await page.getByRole('heading', { name: 'Rejected requests' }).waitFor();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(2);
    expect(await sidewaysOverflow(page)).toBeLessThanOrEqual(0);
    await page.close();

    expect(pages.requested.length).toBeGreaterThan(0);
    expect(pages.requested.filter((url) => !url.startsWith(base))).toEqual([]);
    expect(pages.consoleErrors.filter((text) => !text.includes('401'))).toEqual([]);
  }, 60_000);
});
