import { describe, expect, it } from 'vitest';
import { classifyDatabaseError } from '../src/errors.js';

const pgError = (code: string) => Object.assign(new Error(`sqlstate ${code}`), { code });

describe('classifyDatabaseError', () => {
  it.each([
    [
      'a refused connection',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    ],
    ['a connection lost mid-query', new Error('Connection terminated unexpectedly')],
    ['a pool that cannot connect in time', new Error('timeout exceeded when trying to connect')],
    ['admin shutdown (57P01)', pgError('57P01')],
    ['a missing table (42P01)', pgError('42P01')],
    ['too many connections (53300)', pgError('53300')],
    // A table held past lock_timeout, as by a migration: waited out, no retry used.
    ['lock not available (55P03)', pgError('55P03')],
  ])('%s: unavailable (hold the messages, probe)', (_case, err) => {
    expect(classifyDatabaseError(err).kind).toBe('unavailable');
  });

  it.each([
    ['serialization failure (40001)', pgError('40001')],
    ['deadlock (40P01)', pgError('40P01')],
    ['statement timeout (57014)', pgError('57014')],
    // Not the database's fault and not a connection: retried, then dead-lettered, never held.
    ['an error without a SQLSTATE', new RangeError('Invalid string length')],
  ])('%s: transient (retry later)', (_case, err) => {
    expect(classifyDatabaseError(err).kind).toBe('transient');
  });

  it.each([
    ['untranslatable character (22P05)', pgError('22P05')],
    ['check violation (23514)', pgError('23514')],
  ])('%s: permanent (dead-letter)', (_case, err) => {
    expect(classifyDatabaseError(err).kind).toBe('permanent');
  });

  it('keeps the driver error as cause and its code', () => {
    const cause = pgError('40001');
    const classified = classifyDatabaseError(cause);
    expect(classified.cause).toBe(cause);
    expect(classified.code).toBe('40001');
  });
});
