import { PermanentDatabaseError, TransientDatabaseError } from '@webhooks/db';
import { describe, expect, it } from 'vitest';
import { decide } from '../src/pipeline/decide.js';
import { InvalidMessageError } from '../src/pipeline/decode-message.js';

const DELAYS = [1000, 2000, 4000];
const transient = {
  kind: 'failed',
  error: new TransientDatabaseError('deadlock', { cause: null, code: '40P01' }),
} as const;

describe('decide: the retry and dead-letter policy', () => {
  it('acks a stored message', () => {
    expect(decide({ kind: 'stored' }, 1, DELAYS)).toEqual({ action: 'ack' });
  });

  it('requeues a stored event not yet published, whatever the attempt: never a retry or a dead letter', () => {
    const outcome = { kind: 'not-published', error: new Error('nack') } as const;
    expect(decide(outcome, 1, DELAYS)).toEqual({ action: 'requeue' });
    expect(decide(outcome, 4, DELAYS)).toEqual({ action: 'requeue' });
  });

  it('dead-letters an invalid message at once, whatever the attempt', () => {
    const outcome = {
      kind: 'invalid',
      error: new InvalidMessageError('body is not JSON'),
    } as const;
    expect(decide(outcome, 1, DELAYS)).toEqual({
      action: 'dead-letter',
      reason: 'invalid_message',
      error: 'body is not JSON',
    });
  });

  it('dead-letters a row the database rejects as data, without retrying', () => {
    const outcome = {
      kind: 'failed',
      error: new PermanentDatabaseError('invalid input syntax', { cause: null, code: '22P02' }),
    } as const;
    expect(decide(outcome, 1, DELAYS)).toMatchObject({
      action: 'dead-letter',
      reason: 'rejected_by_database',
    });
  });

  it('retries a transient failure after 1 s, 2 s, 4 s, then dead-letters: four tries in all', () => {
    expect(decide(transient, 1, DELAYS)).toMatchObject({
      action: 'retry',
      delayMs: 1000,
      nextAttempt: 2,
    });
    expect(decide(transient, 2, DELAYS)).toMatchObject({
      action: 'retry',
      delayMs: 2000,
      nextAttempt: 3,
    });
    expect(decide(transient, 3, DELAYS)).toMatchObject({
      action: 'retry',
      delayMs: 4000,
      nextAttempt: 4,
    });
    expect(decide(transient, 4, DELAYS)).toEqual({
      action: 'dead-letter',
      reason: 'retries_exhausted',
      error: '40P01: deadlock',
    });
  });

  it('follows a configured list of delays', () => {
    expect(decide(transient, 1, [500])).toMatchObject({ action: 'retry', delayMs: 500 });
    expect(decide(transient, 2, [500])).toMatchObject({
      action: 'dead-letter',
      reason: 'retries_exhausted',
    });
  });
});
