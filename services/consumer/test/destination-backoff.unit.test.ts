import { describe, expect, it } from 'vitest';
import { DestinationBackoff } from '../src/delivery/destination-backoff.js';

const options = { afterFailures: 3, firstMs: 100, maxMs: 350 };

describe('DestinationBackoff', () => {
  it('leaves a destination alone until it fails that many times in a row', () => {
    const backoff = new DestinationBackoff(options);
    backoff.settled('a', false, false, 0);
    backoff.settled('a', false, false, 0);
    backoff.settled('a', true, false, 0);
    backoff.settled('a', false, false, 0);
    backoff.settled('a', false, false, 0);
    expect(backoff.caps(0).size).toBe(0);
    expect(backoff.isBackedOff('a')).toBe(false);
  });

  it('then waits, sends one probe at a time, doubles the wait up to the most, and ends on a delivery', () => {
    const backoff = new DestinationBackoff(options);
    for (let i = 0; i < 3; i += 1) backoff.settled('a', false, false, 1000);
    expect(backoff.size).toBe(1);
    expect(backoff.caps(1099).get('a')).toBe(0);
    expect(backoff.caps(1100).get('a')).toBe(1);

    backoff.probeSent('a');
    expect(backoff.caps(5000).get('a')).toBe(0);
    // A failure still in flight from before is no probe: the wait does not grow.
    backoff.settled('a', false, false, 1150);
    expect(backoff.caps(5000).get('a')).toBe(0);

    backoff.settled('a', false, true, 1200);
    expect(backoff.caps(1399).get('a')).toBe(0);
    expect(backoff.caps(1400).get('a')).toBe(1);
    backoff.probeSent('a');
    backoff.settled('a', false, true, 2000);
    expect(backoff.caps(2349).get('a')).toBe(0);
    expect(backoff.caps(2350).get('a')).toBe(1);

    backoff.probeSent('a');
    backoff.settled('a', true, true, 2400);
    expect(backoff.caps(2400).size).toBe(0);
    expect(backoff.size).toBe(0);
  });

  it('keeps destinations apart', () => {
    const backoff = new DestinationBackoff(options);
    for (let i = 0; i < 3; i += 1) backoff.settled('a', false, false, 0);
    backoff.settled('b', false, false, 0);
    expect([...backoff.caps(0).keys()]).toEqual(['a']);
  });
});
