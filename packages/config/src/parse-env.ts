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

/** Settings whose empty value is a value of its own (see `emptyIsAValue`). */
const emptyIsValue = new WeakSet<z.ZodType>();

/**
 * Marks a setting whose empty value means something other than its default (e.g.
 * `EVENTS_EXCHANGE=` turns the exchange off): `parseEnv` hands it `''` rather than unset.
 */
export function emptyIsAValue<S extends z.ZodType>(schema: S): S {
  emptyIsValue.add(schema);
  return schema;
}

/** The part of a zod schema's definition `parseEnv` walks to find the marked settings. */
interface SettingsDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  left?: z.ZodType;
  right?: z.ZodType;
}

/** The variables of `schema` (objects, through `.and()`) marked with `emptyIsAValue`. */
function variablesKeepingEmpty(schema: z.ZodType): Set<string> {
  const def = schema.def as SettingsDef;
  if (def.type === 'object' && def.shape !== undefined) {
    const marked = Object.entries(def.shape).filter(([, setting]) => emptyIsValue.has(setting));
    return new Set(marked.map(([name]) => name));
  }
  if (def.type === 'intersection' && def.left !== undefined && def.right !== undefined) {
    return new Set([...variablesKeepingEmpty(def.left), ...variablesKeepingEmpty(def.right)]);
  }
  return new Set();
}

/**
 * Parses `env` with `schema`. Empty strings count as unset, so `PORT=` in a compose file or a
 * `.env` falls back to the default instead of failing as "not a number"; except for settings
 * marked with `emptyIsAValue`.
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  env: Readonly<Record<string, string | undefined>>,
): z.infer<S> {
  const keepEmpty = variablesKeepingEmpty(schema);
  const present: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && (value !== '' || keepEmpty.has(key))) present[key] = value;
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
