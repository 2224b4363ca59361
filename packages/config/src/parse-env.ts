import type { z } from 'zod';

/** Thrown when settings are missing or invalid; its message names every bad variable. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  readonly variables: readonly string[];

  constructor(problems: ReadonlyArray<{ variable: string; message: string }>) {
    const lines = problems.map((p) => `  ${p.variable}: ${p.message}`);
    super(`Invalid configuration (${problems.length}):\n${lines.join('\n')}`);
    this.name = 'ConfigError';
    this.variables = problems.map((p) => p.variable);
  }
}

/**
 * Parses `env` with `schema`. Empty strings count as unset, so `PORT=` in a compose file or a
 * `.env` falls back to the default instead of failing as "not a number".
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: Readonly<Record<string, string | undefined>>,
): z.infer<S> {
  const present: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') present[key] = value;
  }
  const result = schema.safeParse(present);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => ({
      variable: issue.path.map(String).join('.') || '(environment)',
      message: issue.message,
    })),
  );
}
