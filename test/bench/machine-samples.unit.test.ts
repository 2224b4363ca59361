import { describe, expect, it } from 'vitest';
import { tcpExtCounter } from '../../bench/lib/machine-samples.js';
import { synRetransmitsText } from '../../bench/report.js';
import type { FixedRate } from '../../bench/types.js';

// The kernel's TCP counters beside a fixed-rate phase: a SYN sent again is a connection that
// waited a whole second to open, which no process's own figures show.
// Another section first, with a counter of the same name, as a trap for a reader that does not
// look at the section.
const netstat = [
  'IpExt: InNoRoutes TCPSynRetrans',
  'IpExt: 0 99',
  'TcpExt: SyncookiesSent ListenOverflows TCPSynRetrans TCPOrigDataSent',
  'TcpExt: 0 3 17 123456',
  '',
].join('\n');

const phase = (synRetransmits: Array<number | undefined>): FixedRate =>
  ({
    machine: synRetransmits.map((count, i) => ({
      second: i + 1,
      busyPercent: 100,
      iowaitPercent: 0,
      rabbitmqPercent: 0,
      postgresPercent: 0,
      ...(count === undefined ? {} : { synRetransmits: count }),
    })),
  }) as unknown as FixedRate;

describe('TCP counters of the machine', () => {
  it('reads a TcpExt counter by name, not another section’s of the same name', () => {
    expect(tcpExtCounter(netstat, 'TCPSynRetrans')).toBe(17);
    expect(tcpExtCounter(netstat, 'ListenOverflows')).toBe(3);
    expect(tcpExtCounter(netstat, 'NoSuchCounter')).toBeUndefined();
    expect(tcpExtCounter('Ip: Forwarding\nIp: 1\n', 'TCPSynRetrans')).toBeUndefined();
  });

  it('says how many SYNs were sent again in a phase, and in which seconds', () => {
    expect(synRetransmitsText(phase([0, 4, 0, 1]))).toContain(
      ': 5, in the samples ending at seconds 2, 4.',
    );
    expect(synRetransmitsText(phase([0, 0]))).toBe(' No TCP SYN was sent again during the phase.');
    // Results written before the counter existed say nothing of it.
    expect(synRetransmitsText(phase([undefined, undefined]))).toBe('');
  });
});
