import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { openApiDocument } from './openapi.js';

export interface DocsRoutesOptions {
  /** Turns the docs UI's own Content-Security-Policy into the one served. */
  transformCsp: (policy: string) => string;
}

/** Headers of the inner docs app's response that the outer app sets itself. */
const OWN_HEADERS = new Set([
  'content-length',
  'connection',
  'transfer-encoding',
  'date',
  'keep-alive',
]);

/**
 * `GET /docs` (the UI and its assets), `/docs/json` and `/docs/yaml`. The UI costs the process
 * several MB of memory that nobody uses while it takes webhooks, so it is loaded on the first
 * request under /docs, into an app of its own that these routes hand the request to.
 * Register it with `app.register`: its hook runs after the app's own.
 */
export async function docsRoutes(app: FastifyInstance, options: DocsRoutesOptions): Promise<void> {
  let docsApp: Promise<FastifyInstance> | undefined;
  const build = async () => {
    const [{ default: swagger }, { default: swaggerUi }] = await Promise.all([
      import('@fastify/swagger'),
      import('@fastify/swagger-ui'),
    ]);
    const docs = Fastify();
    await docs.register(swagger, {
      mode: 'static',
      specification: { document: openApiDocument() as never },
    });
    await docs.register(swaggerUi, {
      routePrefix: '/docs',
      staticCSP: true,
      transformStaticCSP: options.transformCsp,
    });
    await docs.ready();
    return docs;
  };
  /** The UI's own policy per reply, put back after the app's hook set the API's. */
  const uiPolicies = new WeakMap<FastifyReply, string>();

  const forward = async (request: FastifyRequest, reply: FastifyReply) => {
    docsApp ??= build().catch((err: unknown) => {
      docsApp = undefined;
      throw err;
    });
    const res = await (await docsApp).inject({
      method: request.method === 'HEAD' ? 'HEAD' : 'GET',
      url: request.url,
      headers: request.headers,
    });
    for (const [name, value] of Object.entries(res.headers)) {
      if (value === undefined || OWN_HEADERS.has(name)) continue;
      if (name === 'content-security-policy') uiPolicies.set(reply, String(value));
      else reply.header(name, value);
    }
    return reply.code(res.statusCode).send(res.rawPayload);
  };

  app.addHook('onSend', async (_request, reply, payload) => {
    const policy = uiPolicies.get(reply);
    if (policy !== undefined) reply.header('content-security-policy', policy);
    return payload;
  });
  app.get('/docs', forward);
  app.get('/docs/*', forward);
}
