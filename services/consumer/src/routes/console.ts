import { readFile } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * The console's files, shipped in the package (`console/`) beside `src/` and `dist/`, so the
 * same path works from the sources and from the build. Only these names are served.
 */
const CONSOLE_DIR = new URL('../../console/', import.meta.url);
const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'json-text.js': 'text/javascript; charset=utf-8',
};

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

/** `GET /console` and its static files. They hold no data, so they need no token. */
export function consoleRoutes(app: FastifyInstance): void {
  const cache = new Map<string, Buffer>();
  const send = (file: string) => async (_request: unknown, reply: FastifyReply) => {
    let content = cache.get(file);
    if (content === undefined) {
      content = await readFile(new URL(file, CONSOLE_DIR));
      cache.set(file, content);
    }
    return reply
      .type(FILES[file] ?? 'application/octet-stream')
      .header('content-security-policy', CONSOLE_CSP)
      .send(content);
  };
  app.get('/console', send('index.html'));
  app.get('/console/', send('index.html'));
  for (const file of Object.keys(FILES)) app.get(`/console/${file}`, send(file));
}
