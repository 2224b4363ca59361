import { DEFAULT_MAX_JSON_DEPTH, parseJsonBody } from '@webhooks/contracts';
import type { ProviderSources } from '@webhooks/providers';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  LogController,
} from 'fastify';
import { type Admission, alwaysAdmit } from './backlog-admission.js';
import { clientErrorHandler } from './client-error.js';
import { type DiscardBounds, discardRequestBody } from './discard-request-body.js';
import { docsRoutes } from './docs-routes.js';
import { handleError, InvalidPayloadError } from './error-handler.js';
import type { EventPublisher } from './event-publisher.js';
import type { IngestMetrics } from './metrics.js';
import { discardRejected, type Quarantine } from './quarantine.js';
import { RefusalLog } from './refusal-log.js';
import { requestIdOf } from './request-id.js';
import { LazyRequestLogger } from './request-logger.js';
import { healthRoutes } from './routes/health.js';
import { providerWebhookRoutes } from './routes/provider-webhook.js';
import { webhookRoute } from './routes/webhook.js';
import { WarmUp } from './warm-up.js';

export interface AppDeps {
  publisher: EventPublisher;
  logger: FastifyBaseLogger;
  /** Largest accepted body; larger ones get 413. */
  maxBodyBytes: number;
  /** `Retry-After` seconds on a 503. */
  retryAfterSeconds: number;
  /** Sources of `POST /webhook/:source` and their signature schemes; absent, every one is 404. */
  providerSources?: ProviderSources;
  metrics: IngestMetrics;
  /** Deepest nesting of an event's `data` (`MAX_JSON_DEPTH`). Default 64. */
  maxJsonDepth?: number;
  /** How long slow clients may hold a socket. Default 30000, 10000 and 5000 ms, as the settings. */
  timeouts?: HttpTimeouts;
  /**
   * How much of an oversized body is read and thrown away so that the sender can read the 413.
   * Default: up to 4 × `maxBodyBytes`, for up to 5000 ms; past either, the connection is closed.
   */
  oversizedBody?: Partial<DiscardBounds>;
  /** Refused signatures are logged at most once per source per this interval. Default 60000. */
  signatureLogIntervalMs?: number;
  /** Sheds new webhooks while the backlog is past `MAX_BACKLOG`. Default: admit everything. */
  admission?: Admission;
  /** Keeps provider requests refused with 401/404. Default: keep nothing. */
  quarantine?: Quarantine;
  /** `/readyz` is 503 until it has run; its requests publish nothing. Default: ready at once. */
  warmUp?: WarmUp;
}

/** `REQUEST_TIMEOUT_MS`, `HEADERS_TIMEOUT_MS` and `KEEP_ALIVE_TIMEOUT_MS`. */
export interface HttpTimeouts {
  /** Whole request, headers and body: past it, 408 and the connection is closed. */
  requestMs: number;
  /** Headers alone (the slowloris defence); capped at `requestMs`. */
  headersMs: number;
  /** Idle keep-alive connection. */
  keepAliveMs: number;
}

const DEFAULT_TIMEOUTS: HttpTimeouts = { requestMs: 30_000, headersMs: 10_000, keepAliveMs: 5_000 };

/**
 * How often Node looks for requests past their headers or request timeout. Its default, 30 s,
 * would let a slow client hold a socket up to 30 s past either timeout.
 */
const TIMEOUT_CHECK_INTERVAL_MS = 1000;

/**
 * Security headers of every response. JSON is never a document to render or frame. The docs UI
 * (under /docs) replaces the policy with its own, which lets its scripts and styles load.
 */
const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};

/**
 * The docs UI's own policy, minus `upgrade-insecure-requests`: served over plain HTTP (no TLS
 * proxy in front, e.g. on localhost), it would send the UI's own scripts to an https:// URL.
 */
const docsCsp = (policy: string) => policy.replace(/\s*upgrade-insecure-requests;?/, '');

/**
 * The ingest API. It never listens, reads no environment and owns no connection: `main.ts`
 * does those, and tests drive it with `app.inject`.
 */
export function buildApp(deps: AppDeps): FastifyInstance {
  const timeouts = deps.timeouts ?? DEFAULT_TIMEOUTS;
  const { metrics } = deps;
  const warmUp = deps.warmUp ?? WarmUp.finished();
  const app = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: deps.maxBodyBytes,
    genReqId: requestIdOf,
    // The request's child logger is built only when the request logs (see LazyRequestLogger).
    childLoggerFactory: LazyRequestLogger.factory,
    // One line per request at info would be the hot path's biggest cost; see onResponse below.
    logController: new LogController({
      disableRequestLogging: true,
      requestIdLogLabel: 'requestId',
    }),
    return503OnClosing: true,
    // URLs Fastify refuses before routing get the API's error bodies and headers too, and are
    // counted (no hook runs for them).
    frameworkErrors: (error, request, reply) => {
      reply.header('x-request-id', request.id).headers(SECURITY_HEADERS);
      const sent = handleError(error, request, reply);
      metrics.requests.inc({
        route: 'unmatched',
        method: request.method,
        status: reply.statusCode,
      });
      return sent;
    },
    // What Node refuses before Fastify sees a request (408, 431, 400) is answered and counted.
    clientErrorHandler: clientErrorHandler(metrics),
    // Slow clients cannot hold a socket forever: a slowloris sending its headers byte by byte
    // is cut off by the headers timeout, one stalling mid-body by the request timeout, a
    // silent one by the socket's idle timeout (`connectionTimeout`).
    requestTimeout: timeouts.requestMs,
    connectionTimeout: timeouts.requestMs,
    keepAliveTimeout: timeouts.keepAliveMs,
    http: {
      // Node refuses a headers timeout longer than the request timeout.
      headersTimeout: Math.min(timeouts.headersMs, timeouts.requestMs),
      connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
    },
  });

  // Only JSON is accepted; without this, Fastify would parse text/plain into a string.
  app.removeContentTypeParser('text/plain');
  // JSON is read as bytes, so that invalid UTF-8 is refused rather than decoded into U+FFFD.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
    const parsed = parseJsonBody(body as Buffer);
    if (parsed.success) done(null, parsed.value);
    else done(new InvalidPayloadError(parsed.message), undefined);
  });

  // A refusal's reason is the `error` code of the body its handler (or the error handler) sent,
  // taken from that object before it is serialised.
  const rejectionReasons = new WeakMap<object, string>();
  app.addHook('preSerialization', (_request, reply, payload, done) => {
    const reason = errorCodeOf(payload);
    if (reason !== undefined) rejectionReasons.set(reply, reason);
    done(null, payload);
  });
  // Both hooks take a callback rather than being async: every request runs them, and an async
  // hook costs a promise and its resolution each time.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('x-request-id', request.id);
    reply.headers(SECURITY_HEADERS);
    // Every webhook route's outcome, including refusals raised before the handler ran; the
    // warm-up's own requests are not the API's traffic.
    if (
      request.routeOptions.url?.startsWith('/webhook') === true &&
      !warmUp.isRehearsal(request.headers)
    ) {
      if (reply.statusCode === 200) metrics.accepted.inc();
      else
        metrics.rejected.inc({ reason: rejectionReasons.get(reply) ?? `http_${reply.statusCode}` });
    }
    done(null, payload);
  });
  app.addHook('onResponse', (request, reply, done) => {
    if (!warmUp.isRehearsal(request.headers)) {
      const route = request.routeOptions.url ?? 'unmatched';
      const seconds = reply.elapsedTime / 1000;
      metrics.requests.inc({ route, method: request.method, status: reply.statusCode });
      metrics.requestDuration.observe({ route, method: request.method }, seconds);
      request.log.debug(
        {
          method: request.method,
          url: request.url,
          status: reply.statusCode,
          ms: reply.elapsedTime,
        },
        'request completed',
      );
    }
    done();
  });

  const discardBounds: DiscardBounds = {
    maxBytes: deps.oversizedBody?.maxBytes ?? 4 * deps.maxBodyBytes,
    timeoutMs: deps.oversizedBody?.timeoutMs ?? 5000,
  };
  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    // A sender still writing its body would get a reset rather than the 413 (Fastify answers
    // with `connection: close`): the rest is read first, within bounds.
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      await discardRequestBody(request.raw, discardBounds);
    }
    return handleError(error, request, reply);
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ error: 'not_found' }));

  app.register(docsRoutes, { transformCsp: docsCsp });
  app.get('/metrics', async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  const admission = deps.admission ?? alwaysAdmit;
  healthRoutes(app, {
    isReady: () => deps.publisher.ready,
    isWarm: () => warmUp.done,
    admission,
  });
  const maxJsonDepth = deps.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH;
  const signedSources = new Set(
    Object.entries(deps.providerSources?.sources ?? {})
      .filter(([, source]) => source.scheme !== 'none')
      .map(([name]) => name),
  );
  webhookRoute(app, {
    publisher: deps.publisher,
    retryAfterSeconds: deps.retryAfterSeconds,
    maxJsonDepth,
    signedSources,
    admission,
    warmUp,
  });
  const refusalLog = new RefusalLog({
    logger: deps.logger,
    intervalMs: deps.signatureLogIntervalMs ?? 60_000,
  });
  app.addHook('onClose', async () => refusalLog.close());
  app.register(providerWebhookRoutes, {
    refusalLog,
    publisher: deps.publisher,
    retryAfterSeconds: deps.retryAfterSeconds,
    providerSources: deps.providerSources,
    maxJsonDepth,
    quarantine: deps.quarantine ?? discardRejected,
    admission,
  });
  return app;
}

/** The `error` code of an error body (`ErrorResponse`), if `payload` is one. */
function errorCodeOf(payload: unknown): string | undefined {
  if (typeof payload !== 'object' || payload === null || !('error' in payload)) return undefined;
  return typeof payload.error === 'string' ? payload.error : undefined;
}
