import { type Logger, pino } from 'pino';

export interface LoggerOptions {
  name: string;
  level: string;
  /** Human-readable lines; only for a terminal, JSON everywhere else. */
  pretty: boolean;
}

/** pino JSON logs; secrets that may reach a log line are redacted. */
export function createLogger(options: LoggerOptions): Logger {
  return pino({
    name: options.name,
    level: options.level,
    redact: {
      paths: [
        'req.headers.authorization',
        // Request headers logged by hand, at the top of a line or one level down.
        'headers.authorization',
        '*.headers.authorization',
        'config.AMQP_URL',
        'config.DATABASE_URL',
        'config.WEBHOOK_SOURCES',
        'config.OPS_TOKEN',
        '*.password',
        '*.secret',
        '*.secrets',
      ],
      censor: '[redacted]',
    },
    ...(options.pretty ? { transport: { target: 'pino-pretty' } } : {}),
  });
}
