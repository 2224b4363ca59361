import { DatabaseUnavailableError, type EventRow, PermanentDatabaseError } from '@webhooks/db';
import { describe, expect, it } from 'vitest';
import { captureLogs } from '../../../test/helpers/log-capture.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import { DatabaseCircuit } from '../src/pipeline/database-circuit.js';

const ROWS: EventRow[] = [
  { eventId: 'e', source: 's', type: 't', data: {}, timestamp: '2026-05-06T07:08:09.000Z' },
];
const refused = () =>
  Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });

/** A database that is away until `back()`, and a queue that records pause/resume. */
function setup() {
  let up = false;
  let probes = 0;
  const inserts: number[] = [];
  const queueCalls: string[] = [];
  const states: boolean[] = [];
  const logs = captureLogs('debug');
  const circuit = new DatabaseCircuit({
    insert: async (rows) => {
      inserts.push(rows.length);
      if (!up) throw refused();
    },
    probe: async () => {
      probes += 1;
      if (!up) throw refused();
    },
    probeIntervalMs: 10,
    queue: {
      pause: async () => void queueCalls.push('pause'),
      resume: async () => void queueCalls.push('resume'),
    },
    logger: logs.logger,
    onStateChange: (open) => states.push(open),
  });
  return {
    circuit,
    inserts,
    queueCalls,
    states,
    logs,
    probes: () => probes,
    back: () => (up = true),
  };
}

describe('DatabaseCircuit: the insert, guarded against an outage', () => {
  it('passes a working insert straight through', async () => {
    const t = setup();
    t.back();
    await t.circuit.insert(ROWS);
    expect(t.inserts).toEqual([1]);
    expect(t.queueCalls).toEqual([]);
    expect(t.circuit.isOpen).toBe(false);
  });

  it('an unavailable database pauses the queue, the insert waits, and runs again once a probe succeeds', async () => {
    const t = setup();
    let done = false;
    const inserting = t.circuit.insert(ROWS).then(() => (done = true));
    await waitFor('the circuit to open', () => t.circuit.isOpen);
    expect(t.queueCalls).toEqual(['pause']);
    expect(t.states).toEqual([true]);
    // Probes keep failing: the insert keeps waiting and is not retried meanwhile.
    await waitFor('three failed probes', () => t.probes() >= 3);
    expect(done).toBe(false);
    expect(t.inserts).toEqual([1]);

    t.back();
    await inserting;
    expect(t.inserts).toEqual([1, 1]);
    expect(t.queueCalls).toEqual(['pause', 'resume']);
    expect(t.states).toEqual([true, false]);
    expect(t.circuit.isOpen).toBe(false);
    expect(t.logs.lines.map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        'database unavailable: circuit open, consumption paused',
        'database reachable again: circuit closed, consumption resumed',
      ]),
    );
  });

  it('other failures are thrown at once, classified, without opening the circuit', async () => {
    const circuit = new DatabaseCircuit({
      insert: async () => {
        throw Object.assign(new Error('value too long'), { code: '22001' });
      },
      probe: async () => {},
      probeIntervalMs: 10,
      queue: { pause: async () => {}, resume: async () => {} },
      logger: captureLogs().logger,
    });
    await expect(circuit.insert(ROWS)).rejects.toBeInstanceOf(PermanentDatabaseError);
    expect(circuit.isOpen).toBe(false);
  });

  it('stop() ends the wait: the insert throws DatabaseUnavailableError so its rows are given back', async () => {
    const t = setup();
    const inserting = t.circuit.insert(ROWS);
    await waitFor('the circuit to open', () => t.circuit.isOpen);
    t.circuit.stop();
    await expect(inserting).rejects.toBeInstanceOf(DatabaseUnavailableError);
    // Stopped, it no longer waits at all.
    await expect(t.circuit.insert(ROWS)).rejects.toBeInstanceOf(DatabaseUnavailableError);
    expect(t.queueCalls).toEqual(['pause']);
  });
});
