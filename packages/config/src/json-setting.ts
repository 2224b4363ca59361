import { z } from 'zod';

/**
 * A setting written as JSON, e.g. `WEBHOOK_SOURCES='{"acme":{"scheme":"none"}}'`: parsed, then
 * checked by `schema`. A syntax error names only its position, never the text, which may hold
 * secrets and ends up in the start-up log.
 */
export function jsonSetting<T extends z.ZodType>(schema: T) {
  return z
    .string()
    .transform((raw, ctx): unknown => {
      try {
        return JSON.parse(raw);
      } catch (err) {
        // V8's message quotes the input: keep only the position.
        const position = /position (\d+)/.exec(String(err))?.[1];
        ctx.addIssue({
          code: 'custom',
          message: `expected a JSON object; not valid JSON${position ? ` (at position ${position})` : ''}`,
        });
        return z.NEVER;
      }
    })
    .pipe(schema);
}
