import { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';

export interface CapturedLine {
  level: number;
  time: number;
  msg: string;
  [key: string]: unknown;
}

/** A logger whose JSON lines tests can read back, to observe what a service reports. */
export function captureLogs(level = 'info'): { logger: Logger; lines: CapturedLine[] } {
  const lines: CapturedLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim() !== '') lines.push(JSON.parse(line) as CapturedLine);
      }
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}
