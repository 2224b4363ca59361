import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string | number | boolean | null>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test?: string[]; disable?: boolean };
  restart?: string;
  hostname?: string;
}

export interface ComposeFile {
  version?: unknown;
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** The compose file as compose reads it, YAML merge keys (`<<: *anchor`) included. */
export function readComposeFile(file: string): { text: string; compose: ComposeFile } {
  const text = readFileSync(file, 'utf8');
  return { text, compose: parse(text, { merge: true }) as ComposeFile };
}

export interface VariableReference {
  name: string;
  /** The `-default` or `:-default` part; undefined when there is none. */
  defaultValue: string | undefined;
}

const INTERPOLATION = /\$\$|\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

function parseReference(inner: string): VariableReference {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)(?::?-(.*))?$/s.exec(inner);
  if (match === null) throw new Error(`unsupported interpolation: \${${inner}}`);
  return { name: match[1] ?? '', defaultValue: match[2] };
}

/** Every variable compose substitutes in `text` (`$$` is an escaped `$`, not a variable). */
export function variableReferences(text: string): VariableReference[] {
  const references: VariableReference[] = [];
  for (const match of text.matchAll(INTERPOLATION)) {
    if (match[0] === '$$') continue;
    references.push(
      match[1] !== undefined
        ? parseReference(match[1])
        : { name: match[2] ?? '', defaultValue: undefined },
    );
  }
  return references;
}

/** `value` as compose would make it with no variable set: each reference becomes its default. */
export function withDefaults(value: string): string {
  return value.replace(INTERPOLATION, (whole, braced?: string, bare?: string) => {
    if (whole === '$$') return '$';
    const reference =
      braced !== undefined ? parseReference(braced) : { name: bare, defaultValue: undefined };
    if (reference.defaultValue === undefined) throw new Error(`no default: ${whole}`);
    return reference.defaultValue;
  });
}

/** A service's `environment`, as its container gets it with no variable set. */
export function environmentWithDefaults(service: ComposeService): Record<string, string> {
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([key, value]) => [
      key,
      withDefaults(String(value ?? '')),
    ]),
  );
}
