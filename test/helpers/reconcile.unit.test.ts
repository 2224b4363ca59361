import { describe, expect, it } from 'vitest';
import { type Answer, classify } from './reconcile.js';

/** One event id's answer and what was found of it. */
function one(answer: Answer, found: { rows?: number; deadReason?: string }) {
  return classify(new Map([['e-1', answer]]), {
    storedCounts: new Map(found.rows === undefined ? [] : [['e-1', found.rows]]),
    deadLetterReasons: new Map(found.deadReason === undefined ? [] : [['e-1', found.deadReason]]),
  });
}

describe('classify: every answer held against the rows and dead letters found', () => {
  it('an event answered 200 and stored once is accounted for, nothing flagged', () => {
    expect(one(200, { rows: 1 })).toEqual({
      lost: [],
      duplicated: [],
      deadLettered: new Map(),
      storedWithout200: new Map(),
      unknown: [],
      accepted: 1,
      stored: 1,
    });
  });

  it('answered 200 and found nowhere is lost', () => {
    expect(one(200, {})).toMatchObject({ lost: ['e-1'], duplicated: [], accepted: 1, stored: 0 });
  });

  it('answered 200 and only dead-lettered is reported with its reason', () => {
    const result = one(200, { deadReason: 'retries_exhausted' });
    expect([...result.deadLettered]).toEqual([['e-1', 'retries_exhausted']]);
    expect(result.lost).toEqual([]);
    expect(result.duplicated).toEqual([]);
  });

  it.each([
    ['answered 200, stored twice', 200, { rows: 2 }],
    ['answered 200, stored and dead-lettered', 200, { rows: 1, deadReason: 'invalid_message' }],
    ['refused with a 503, stored twice', 503, { rows: 2 }],
    ['no answer, stored and dead-lettered', 'error', { rows: 1, deadReason: 'invalid_message' }],
  ] as const)('%s is duplicated', (_case, answer, found) => {
    const result = one(answer, found);
    expect(result.duplicated).toEqual(['e-1']);
    expect([...result.deadLettered]).toEqual([]);
    expect(result.lost).toEqual([]);
  });

  it.each([
    ['stored once', { rows: 1 }],
    ['dead-lettered', { deadReason: 'invalid_message' }],
  ])('a refusal that was %s is reported with its answer, not as a duplicate', (_case, found) => {
    const result = one(503, found);
    expect([...result.storedWithout200]).toEqual([['e-1', 503]]);
    expect(result.duplicated).toEqual([]);
    expect(result.accepted).toBe(0);
  });

  it('a refusal found nowhere is simply refused', () => {
    expect(one(503, {})).toMatchObject({
      lost: [],
      duplicated: [],
      storedWithout200: new Map(),
      accepted: 0,
    });
  });

  it('a row of the source with an id no request carried is unknown', () => {
    const result = classify(new Map<string, Answer>([['e-1', 200]]), {
      storedCounts: new Map([
        ['e-1', 1],
        ['e-9', 1],
      ]),
      deadLetterReasons: new Map(),
    });
    expect(result.unknown).toEqual(['e-9']);
    expect(result.lost).toEqual([]);
  });
});
