import { randomUUID } from 'node:crypto';
import { RejectedRequestHeader } from '@webhooks/contracts';
import {
  DatabaseUnavailableError,
  PermanentDatabaseError,
  type RejectedRequestRow,
} from '@webhooks/db';
import type { Delivery } from '@webhooks/queue';
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { testLogger } from '../../../test/helpers/test-logger.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import {
  decodeRejectedRequest,
  RejectedRequestStore,
} from '../src/quarantine/store-rejected-request.js';

/** A delivery of the rejected queue as the ingest API publishes it, recording how it is settled. */
function delivery(overrides: Record<string, unknown> = {}) {
  const settled: string[] = [];
  const value: Delivery = {
    body: Buffer.from([0x7b, 0xff, 0x7d]),
    properties: { messageId: randomUUID() } as Delivery['properties'],
    headers: {
      [RejectedRequestHeader.source]: 'github',
      [RejectedRequestHeader.reason]: 'invalid_signature',
      [RejectedRequestHeader.detail]: 'signature_mismatch',
      [RejectedRequestHeader.receivedAt]: '2026-03-04T05:06:07.890Z',
      [RejectedRequestHeader.requestId]: 'req-1',
      [RejectedRequestHeader.httpHeaders]: '{"x-github-event":"push"}',
      ...overrides,
    },
    redelivered: false,
    settleable: true,
    ack: () => settled.push('ack'),
    nack: ({ requeue }) => settled.push(requeue ? 'requeue' : 'drop'),
  };
  return { value, settled };
}

function store(insert: (row: RejectedRequestRow) => Promise<boolean>) {
  const stored = new Counter({
    name: 'stored',
    help: 'h',
    labelNames: ['outcome'] as const,
    registers: [new Registry()],
  });
  return new RejectedRequestStore({ insert, logger: testLogger(), stored, retryDelayMs: 10 });
}

describe('decodeRejectedRequest', () => {
  it('reads the body as bytes and the rest from the headers', () => {
    const { value } = delivery();
    const decoded = decodeRejectedRequest(value);
    expect(decoded).toEqual({
      ok: true,
      row: {
        id: value.properties.messageId,
        source: 'github',
        reason: 'invalid_signature',
        detail: 'signature_mismatch',
        receivedAt: '2026-03-04T05:06:07.890Z',
        requestId: 'req-1',
        headers: { 'x-github-event': 'push' },
        body: Buffer.from([0x7b, 0xff, 0x7d]),
      },
    });
  });

  it('refuses what is not the contract, naming the problem', () => {
    expect(
      decodeRejectedRequest(delivery({ [RejectedRequestHeader.reason]: 'bad_mood' }).value),
    ).toMatchObject({ ok: false, problem: expect.stringContaining('reason') });
    expect(
      decodeRejectedRequest(delivery({ [RejectedRequestHeader.httpHeaders]: '{' }).value),
    ).toMatchObject({ ok: false });
  });
});

describe('RejectedRequestStore', () => {
  it('acks once stored; drops a malformed message or one the database refuses as data', async () => {
    const rows: RejectedRequestRow[] = [];
    const good = delivery();
    const malformed = delivery({ [RejectedRequestHeader.source]: undefined });
    const s = store(async (row) => {
      if (row.id === refused.value.properties.messageId) {
        throw new PermanentDatabaseError('bad', { cause: undefined, code: '22021' });
      }
      rows.push(row);
      return true;
    });
    const refused = delivery();
    for (const d of [good, malformed, refused]) s.onDelivery(d.value);
    await s.drain();
    expect([good.settled, malformed.settled, refused.settled]).toEqual([['ack'], ['ack'], ['ack']]);
    expect(rows.map((r) => r.id)).toEqual([good.value.properties.messageId]);
  });

  it('hands a message back, after a pause, while the database is away', async () => {
    const away = delivery();
    const s = store(async () => {
      throw new DatabaseUnavailableError('down', { cause: undefined, code: 'ECONNREFUSED' });
    });
    s.onDelivery(away.value);
    await waitFor('the hand-back', () => away.settled.length > 0);
    expect(away.settled).toEqual(['requeue']);
  });
});
