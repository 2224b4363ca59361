import { readdirSync, readFileSync } from 'node:fs';
import { round } from './latency-seconds.js';

/**
 * The whole machine, second by second (Linux /proc): how busy its cores were, how much time
 * they waited on the disk, and what RabbitMQ (`beam.smp`) and PostgreSQL used. On a shared
 * machine this tells a slow second caused by the pipeline from one caused by everything else.
 */
export interface MachineSecond {
  second: number;
  /** Busy time of all cores, % of one core (200 = two cores fully busy). */
  busyPercent: number;
  iowaitPercent: number;
  rabbitmqPercent: number;
  postgresPercent: number;
  /**
   * TCP SYNs sent again on the machine (TcpExt TCPSynRetrans): a connection whose first SYN got
   * no answer waits 1 s for the second. Absent in results written before it was counted.
   */
  synRetransmits?: number;
}

interface Reading {
  atMs: number;
  busy: number;
  iowait: number;
  synRetransmits: number | undefined;
  /** CPU ticks by pid, of the processes watched. */
  byPid: Map<string, { name: string; ticks: number }>;
}

const WATCHED = ['beam.smp', 'postgres'];

/** A counter of the `TcpExt` lines of /proc/net/netstat (a line of names, then one of values). */
export function tcpExtCounter(netstat: string, name: string): number | undefined {
  const lines = netstat.split('\n');
  for (let i = 0; i + 1 < lines.length; i++) {
    const names = lines[i]?.split(/\s+/) ?? [];
    const values = lines[i + 1]?.split(/\s+/) ?? [];
    if (names[0] !== 'TcpExt:' || values[0] !== 'TcpExt:') continue;
    const index = names.indexOf(name);
    const value = index > 0 ? Number(values[index]) : Number.NaN;
    return Number.isFinite(value) ? value : undefined;
  }
  return undefined;
}

function synRetransmits(): number | undefined {
  try {
    return tcpExtCounter(readFileSync('/proc/net/netstat', 'utf8'), 'TCPSynRetrans');
  } catch {
    return undefined;
  }
}

function read(pids: readonly number[] = []): Reading | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]?.trim().split(/\s+/) ?? [];
    // cpu user nice system idle iowait irq softirq steal
    const [user, nice, system, , iowait, irq, softirq, steal] = cpu.slice(1).map(Number);
    const byPid = new Map<string, { name: string; ticks: number }>();
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        if (!WATCHED.includes(name) && !pids.includes(Number(pid))) continue;
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
        byPid.set(pid, { name, ticks: Number(fields[11]) + Number(fields[12]) });
      } catch {
        // exited meanwhile
      }
    }
    return {
      atMs: Date.now(),
      busy: [user, nice, system, irq, softirq, steal].reduce<number>((a, b) => a + (b ?? 0), 0),
      iowait: iowait ?? 0,
      synRetransmits: synRetransmits(),
      byPid,
    };
  } catch {
    return undefined;
  }
}

/**
 * CPU ticks between two readings of the processes `match` picks, counting only those alive at
 * both, so one that exits takes its ticks along with it.
 */
function ticksBetween(
  then: Reading,
  now: Reading,
  match: (pid: string, name: string) => boolean,
): number {
  let ticks = 0;
  for (const [pid, later] of now.byPid) {
    const earlier = then.byPid.get(pid);
    if (earlier !== undefined && match(pid, later.name)) ticks += later.ticks - earlier.ticks;
  }
  return ticks;
}

/** Reads /proc once a second until stopped; empty where /proc is not available. */
export function sampleMachine(): { stop(startedAtMs: number): MachineSecond[] } {
  const readings: Reading[] = [];
  const take = () => {
    const reading = read();
    if (reading) readings.push(reading);
  };
  take();
  const timer = setInterval(take, 1000);
  return {
    stop: (startedAtMs) => {
      clearInterval(timer);
      take();
      // Kernel ticks are 1/100 s on Linux: ticks per second = percent of one core.
      const rows: MachineSecond[] = [];
      for (let i = 1; i < readings.length; i++) {
        const a = readings[i];
        const b = readings[i - 1];
        if (a === undefined || b === undefined) continue;
        const perSecond = 1000 / Math.max(1, a.atMs - b.atMs);
        const delta = (name: string) =>
          Math.round(ticksBetween(b, a, (_, n) => n === name) * perSecond);
        rows.push({
          second: round((a.atMs - startedAtMs) / 1000, 1),
          busyPercent: Math.round((a.busy - b.busy) * perSecond),
          iowaitPercent: Math.round((a.iowait - b.iowait) * perSecond),
          rabbitmqPercent: delta('beam.smp'),
          postgresPercent: delta('postgres'),
          ...(a.synRetransmits !== undefined && b.synRetransmits !== undefined
            ? { synRetransmits: a.synRetransmits - b.synRetransmits }
            : {}),
        });
      }
      return rows;
    },
  };
}

/** Average CPU over a whole phase, % of one core (200 = both cores of a 2-core machine). */
export interface CpuShare {
  seconds: number;
  busyPercent: number;
  rabbitmqPercent: number;
  postgresPercent: number;
  /** The processes named when the measurement started, by the given label. */
  processes: Record<string, number>;
}

/**
 * Where a phase's CPU went: the machine's busy time, RabbitMQ's and PostgreSQL's, and that of
 * the named processes (the service measured, the load generator). Whatever the machine spent
 * beyond these was spent by the rest. Undefined where /proc is not available.
 */
export function measureCpu(named: Record<string, number | undefined>): {
  stop(): CpuShare | undefined;
} {
  const pids = Object.values(named).filter((pid): pid is number => pid !== undefined);
  const first = read(pids);
  return {
    stop: () => {
      const last = read(pids);
      if (first === undefined || last === undefined) return undefined;
      const seconds = Math.max(0.001, (last.atMs - first.atMs) / 1000);
      const percent = (ticks: number) => Math.round(ticks / seconds);
      const processes: Record<string, number> = {};
      for (const [label, pid] of Object.entries(named)) {
        if (pid !== undefined)
          processes[label] = percent(ticksBetween(first, last, (p) => p === String(pid)));
      }
      return {
        seconds: round(seconds, 1),
        busyPercent: percent(last.busy - first.busy),
        rabbitmqPercent: percent(ticksBetween(first, last, (_, name) => name === 'beam.smp')),
        postgresPercent: percent(ticksBetween(first, last, (_, name) => name === 'postgres')),
        processes,
      };
    },
  };
}
