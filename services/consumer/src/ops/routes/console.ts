import { readFile } from 'node:fs/promises';
import { DeathReason, RejectionReason } from '@webhooks/contracts';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/**
 * The console's files, shipped in the package (`console/`) beside `src/` and `dist/`, so the
 * same path works from the sources and from the build.
 */
const CONSOLE_DIR = new URL('../../../console/', import.meta.url);

/** What may be served, by extension; anything else under `/console/` is a 404. */
const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  css: 'text/css; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
};

/**
 * A file of `console/` by its path there: lower-case kebab-case names in folders of such names,
 * one dot before a known extension. No `..`, no dot file, no backslash, nothing encoded.
 */
const CONSOLE_PATH = /^(?:[a-z0-9][a-z0-9-]*\/)*[a-z0-9][a-z0-9-]*\.(html|css|js)$/;

/**
 * Everything the console loads comes from this origin: no CDN, no inline script or style.
 * Its data comes from the ops API with a bearer token kept in sessionStorage.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * `/console/reasons.js`: the reason lists of `packages/contracts` as a module, so the console's
 * filters offer exactly the reasons the services record and keep no copy of their own.
 */
function reasonsModule(): string {
  return [
    '// Made by the consumer from packages/contracts (DeathReason, RejectionReason).',
    `export const DEAD_LETTER_REASONS = ${JSON.stringify(DeathReason.options)};`,
    `export const REJECTION_REASONS = ${JSON.stringify(RejectionReason.options)};`,
    '',
  ].join('\n');
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR';
}

/**
 * `GET /console`, the files under `console/` and the generated `reasons.js`. They hold no data,
 * so they need no token. A file is read once, then served from memory.
 */
export function consoleRoutes(app: FastifyInstance): void {
  const cache = new Map<string, Buffer | string>([['reasons.js', reasonsModule()]]);
  const send = async (file: string, reply: FastifyReply) => {
    const extension = CONSOLE_PATH.exec(file)?.[1];
    if (extension === undefined) {
      reply.callNotFound();
      return reply;
    }
    let content = cache.get(file);
    if (content === undefined) {
      try {
        content = await readFile(new URL(file, CONSOLE_DIR));
      } catch (err) {
        if (isMissing(err)) {
          reply.callNotFound();
          return reply;
        }
        throw err;
      }
      cache.set(file, content);
    }
    return reply
      .type(CONTENT_TYPES[extension] ?? 'application/octet-stream')
      .header('content-security-policy', CONSOLE_CSP)
      .send(content);
  };
  app.get('/console', (_request, reply) => send('index.html', reply));
  app.get('/console/', (_request, reply) => send('index.html', reply));
  app.get('/console/*', (request: FastifyRequest<{ Params: { '*': string } }>, reply) =>
    send(request.params['*'], reply),
  );
}
