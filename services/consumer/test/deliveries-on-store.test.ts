import { DeliveriesRepository, type EventRow, EventsRepository } from '@webhooks/db';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';

// Deliveries are made by the statement that stores the events: one per (matching
// subscription, new event), none for an event that was already stored.
let database: TestDatabase;
let events: EventsRepository;
let deliveries: DeliveriesRepository;

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
  events = new EventsRepository(database.db);
  deliveries = new DeliveriesRepository(database.db);
});

afterAll(async () => {
  await database?.drop();
});

async function subscribe(name: string, filter: { sources?: string[]; types?: string[] }) {
  const result = await database.db.query<{ id: string }>(
    `INSERT INTO subscriptions (name, url, sources, types, secret, retry_delays_ms, timeout_ms,
       max_in_flight)
     VALUES ($1, 'http://127.0.0.1:1/hook', $2, $3, 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0',
       '{5000}', 10000, 10)
     RETURNING id`,
    [name, filter.sources ?? null, filter.types ?? null],
  );
  return result.rows[0]?.id as string;
}

const row = (source: string, type: string, eventId: string): EventRow => ({
  eventId,
  source,
  type,
  data: { eventId },
  timestamp: '2026-05-06T07:08:09.123456+02:00',
});

async function deliveredTo(subscriptionId: string): Promise<string[]> {
  const result = await database.db.query<{ eventId: string }>(
    `SELECT w.event_id AS "eventId" FROM deliveries d JOIN webhook_events w ON w.id = d.event_row_id
     WHERE d.subscription_id = $1 AND d.status = 'pending' ORDER BY w.event_id`,
    [subscriptionId],
  );
  return result.rows.map((r) => r.eventId);
}

describe('storing events makes their deliveries in the same statement', () => {
  it('one per matching subscription, by source, exact type and type prefix; none twice', async () => {
    const everything = await subscribe('everything', {});
    const shop = await subscribe('shop only', { sources: ['shop'] });
    const invoices = await subscribe('invoices', { types: ['invoice.*', 'refund'] });
    const shopInvoices = await subscribe('shop invoices', {
      sources: ['shop'],
      types: ['invoice.paid'],
    });
    const rows = [
      row('shop', 'invoice.paid', 'e1'),
      row('shop', 'order.created', 'e2'),
      row('billing', 'invoice.voided', 'e3'),
      row('billing', 'refund', 'e4'),
      row('billing', 'refunded', 'e5'),
      row('billing', 'invoice', 'e6'),
    ];

    const first = await events.insertBatch(rows);
    expect(first.inserted).toBe(6);
    expect(first.deliveriesQueued).toBe(6 + 2 + 3 + 1);
    expect(await deliveredTo(everything)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5', 'e6']);
    expect(await deliveredTo(shop)).toEqual(['e1', 'e2']);
    // `invoice.*` is a prefix of "invoice." only: "invoice" itself does not match it.
    expect(await deliveredTo(invoices)).toEqual(['e1', 'e3', 'e4']);
    expect(await deliveredTo(shopInvoices)).toEqual(['e1']);

    // What comes back is each new row with its uuid and its timestamp as stored (UTC).
    const e1 = first.stored.find((s) => s.eventId === 'e1');
    expect(e1).toMatchObject({ source: 'shop', type: 'invoice.paid' });
    expect(e1?.timestamp).toBe('2026-05-06T05:08:09.123456Z');
    expect(e1?.id).toMatch(/^[0-9a-f-]{36}$/);

    // Stored again (a redelivery): nothing new, no second delivery.
    const again = await events.insertBatch([...rows, row('shop', 'order.created', 'e7')]);
    expect(again.inserted).toBe(1);
    expect(again.deliveriesQueued).toBe(2);
    expect(await deliveredTo(shop)).toEqual(['e1', 'e2', 'e7']);
    expect(await events.findStored([{ source: 'shop', eventId: 'e1' }])).toEqual([
      { ...e1, dataJson: '{"eventId": "e1"}' },
    ]);
  });

  it('a pattern does not treat % or _ as wildcards', async () => {
    const odd = await subscribe('odd', { types: ['a_%*'] });
    await events.insertBatch([row('odd', 'a_%x', 'o1'), row('odd', 'abcx', 'o2')]);
    expect(await deliveredTo(odd)).toEqual(['o1']);
  });

  it('deliveries and their attempts leave with their event (retention)', async () => {
    const gone = await subscribe('retention', { sources: ['expiring'] });
    const storedAt = new Date(Date.now() - 40 * 86_400_000);
    const aged = new EventsRepository(database.db, { storedAt: () => storedAt });
    const { stored } = await aged.insertBatch([row('expiring', 'x', 'x1')]);
    const claimed = await deliveries.claimDue({ limit: 100, leaseMarginMs: 1000 });
    const mine = claimed.filter((d) => d.subscriptionId === gone);
    expect(mine).toHaveLength(1);
    await deliveries.recordAttempts(
      mine.map((d) => ({
        deliveryId: d.id,
        attemptedAt: new Date(),
        durationMs: 1,
        httpStatus: 200,
        status: 'delivered' as const,
      })),
    );
    await deliveries.release(claimed.filter((d) => d.subscriptionId !== gone).map((d) => d.id));
    const count = async (table: string) =>
      (
        await database.db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM ${table} WHERE subscription_id = $1`,
          [gone],
        )
      ).rows[0]?.n;
    expect([await count('deliveries'), await count('delivery_attempts')]).toEqual([1, 1]);

    // Retention drops the event's day: its deliveries go first, in batches, then the partition.
    const day = (await events.partitions()).find(
      (p) => p.from !== null && p.to !== null && p.from <= storedAt && storedAt < p.to,
    );
    expect(day).toBeDefined();
    // Every subscription's delivery of it (the catch-all ones of other tests too).
    const ofEvent = await database.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM deliveries WHERE event_row_id = $1',
      [stored[0]?.id],
    );
    if (day !== undefined) {
      expect(await events.dropPartition(day, 1)).toEqual({
        deliveries: ofEvent.rows[0]?.n,
        dropped: true,
      });
    }
    expect([await count('deliveries'), await count('delivery_attempts')]).toEqual([0, 0]);
    expect(await events.findStored([{ source: 'expiring', eventId: 'x1' }])).toEqual([]);
  });
});
