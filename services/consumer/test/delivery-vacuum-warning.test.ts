import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/helpers/test-database.js';
import { DeliveryRole } from '../src/delivery/delivery-role.js';

// Without vacuum, the dead rows every delivery leaves pile up and slow the sender down (the
// bench measured seconds of delay after a million): a delivering process says so when it starts.
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'));
});

afterAll(async () => {
  await database?.drop();
});

function roleLoggingTo(lines: string[]): DeliveryRole {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return new DeliveryRole({
    db: database.db,
    settings: { DELIVERY_POLL_MS: 50 },
    registry: new Registry(),
    logger: pino({ level: 'info' }, sink),
  });
}

const warnings = (lines: string[]) =>
  lines.filter((line) => line.includes('autovacuum is off for the deliveries table'));

describe('a delivering process and vacuum', () => {
  it('warns when autovacuum is turned off for the deliveries table', async () => {
    await database.db.query('ALTER TABLE deliveries SET (autovacuum_enabled = false)');
    try {
      const lines: string[] = [];
      const role = roleLoggingTo(lines);
      expect(await role.deliveries.vacuumedAutomatically()).toBe(false);
      expect(await role.warnWithoutVacuum()).toBe(true);
      expect(warnings(lines)).toHaveLength(1);
      expect(JSON.parse(warnings(lines)[0] ?? '{}').level).toBe(40);
    } finally {
      await database.db.query('ALTER TABLE deliveries RESET (autovacuum_enabled)');
    }
  });

  it("otherwise follows the server's autovacuum setting", async () => {
    const setting = await database.db.query<{ autovacuum: string }>('SHOW autovacuum');
    const serverVacuums = setting.rows[0]?.autovacuum === 'on';
    const lines: string[] = [];
    const role = roleLoggingTo(lines);
    expect(await role.deliveries.vacuumedAutomatically()).toBe(serverVacuums);
    expect(await role.warnWithoutVacuum()).toBe(!serverVacuums);
    expect(warnings(lines)).toHaveLength(serverVacuums ? 0 : 1);
  });
});
