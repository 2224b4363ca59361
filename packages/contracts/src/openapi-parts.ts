import { z } from 'zod';
import { ErrorResponse } from './http-responses.js';

// The pieces both services' OpenAPI documents are made of, from the schemas above.

/** OpenAPI `content` of a JSON body: `schema` as the server sends it (defaults applied). */
export function jsonContent(schema: z.ZodType) {
  return { 'application/json': { schema: z.toJSONSchema(schema, { io: 'output' }) } };
}

/** An error response: its `description`, with an `ErrorResponse` body. */
export function errorResponse(description: string) {
  return { description, content: jsonContent(ErrorResponse) };
}

/**
 * The paths every service answers for its orchestrator and for Prometheus: `/healthz` (the
 * process is alive), `/readyz` (what it depends on is reachable) and `/metrics`.
 */
export function probePaths(readiness: { summary: string; ready: string; notReady: string }) {
  return {
    '/healthz': {
      get: { summary: 'The process is alive', responses: { '200': { description: 'Alive' } } },
    },
    '/readyz': {
      get: {
        summary: readiness.summary,
        responses: {
          '200': { description: readiness.ready },
          '503': { description: readiness.notReady },
        },
      },
    },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics',
        responses: {
          '200': { description: 'Prometheus text format', content: { 'text/plain': {} } },
        },
      },
    },
  };
}
