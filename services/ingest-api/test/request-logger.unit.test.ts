import { QueueUnavailableError } from '@webhooks/queue';
import { describe, expect, it, vi } from 'vitest';
import { FakePublisher } from '../../../test/helpers/fake-publisher.js';
import { captureLogs } from '../../../test/helpers/log-capture.js';
import { buildApp } from '../src/app.js';
import { IngestMetrics } from '../src/metrics.js';
import { LazyRequestLogger } from '../src/request-logger.js';

// A request's logger is built only when the request writes a line; what it writes is what the
// request's own child logger would have written, request id included.
describe('request logger', () => {
  it('builds no child for calls below the level, and one for the first line written', () => {
    const { logger, lines } = captureLogs('info');
    const child = vi.spyOn(logger, 'child');
    const log = LazyRequestLogger.factory(logger, { requestId: 'req-1' }, {});
    log.debug({ hidden: true }, 'not written');
    log.trace('not written either');
    expect(child).not.toHaveBeenCalled();
    expect(lines).toEqual([]);

    log.warn({ reason: 'x' }, 'written');
    log.info('and again');
    expect(child).toHaveBeenCalledTimes(1);
    expect(lines).toMatchObject([
      { level: 40, requestId: 'req-1', reason: 'x', msg: 'written' },
      { level: 30, requestId: 'req-1', msg: 'and again' },
    ]);
  });

  it('follows a level set on it, and a route level makes the child at once', () => {
    const { logger, lines } = captureLogs('info');
    const log = LazyRequestLogger.factory(logger, { requestId: 'req-2' }, {});
    log.level = 'debug';
    log.debug('now written');
    expect(lines).toMatchObject([{ level: 20, requestId: 'req-2', msg: 'now written' }]);
    const routed = LazyRequestLogger.factory(logger, { requestId: 'req-3' }, { level: 'warn' });
    expect(routed).not.toBeInstanceOf(LazyRequestLogger);
    expect(routed.level).toBe('warn');
  });

  it("a request's warning carries its request id", async () => {
    const { logger, lines } = captureLogs('info');
    const publisher = new FakePublisher();
    publisher.failure = new QueueUnavailableError('timeout', 'no confirm');
    const app = buildApp({
      publisher,
      metrics: new IngestMetrics({ brokerConnected: () => true }),
      logger,
      maxBodyBytes: 4096,
      retryAfterSeconds: 1,
    });
    const res = await app.inject({
      method: 'POST',
      url: '/webhook',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-logged' },
      payload: { source: 'acme', type: 'order.created' },
    });
    await app.close();
    expect(res.statusCode).toBe(503);
    expect(lines.find((line) => line.msg === 'event not accepted by the broker')).toMatchObject({
      requestId: 'req-logged',
      level: 40,
    });
  });
});
