import { type Logger, pino } from 'pino';

/** Silent unless `TEST_LOG_LEVEL` asks for lines (e.g. `debug` when a test misbehaves). */
export function testLogger(): Logger {
  return pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
}
