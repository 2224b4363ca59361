import { readFileSync } from 'node:fs';

export interface DockerInstruction {
  /** Upper-case, e.g. `COPY`. */
  keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  args: string;
}

export interface DockerStage {
  image: string;
  name: string | undefined;
  instructions: DockerInstruction[];
}

/**
 * The stages of a Dockerfile, enough to check what it refers to: comments and parser
 * directives dropped, `\` continuations joined. No variable expansion (the project's
 * Dockerfiles use no ARG).
 */
export function readDockerfile(file: string): DockerStage[] {
  const logical: string[] = [];
  let pending = '';
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (pending === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    logical.push(pending + line);
    pending = '';
  }
  const stages: DockerStage[] = [];
  for (const line of logical) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (keyword.toUpperCase() === 'FROM') {
      const [image = '', as, name] = args.split(/\s+/);
      stages.push({
        image,
        name: as?.toUpperCase() === 'AS' ? name : undefined,
        instructions: [],
      });
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) throw new Error(`${file}: ${keyword} before FROM`);
    stage.instructions.push({ keyword: keyword.toUpperCase(), args });
  }
  return stages;
}

/** The arguments of a stage's instructions with this keyword, in order. */
export function argsOf(stage: DockerStage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
}

export interface CopyInstruction {
  /** The stage copied from (`--from=`), or undefined for the build context. */
  from: string | undefined;
  sources: string[];
  destination: string;
}

/** `COPY [--from=x] [--chown=y] src... dest`, shell or JSON form. */
export function parseCopy(args: string): CopyInstruction {
  const words = args.trim().startsWith('[')
    ? (JSON.parse(args) as string[])
    : args.trim().split(/\s+/);
  let from: string | undefined;
  const paths: string[] = [];
  for (const word of words) {
    if (word.startsWith('--from=')) from = word.slice('--from='.length);
    else if (!word.startsWith('--')) paths.push(word);
  }
  const destination = paths.pop();
  if (destination === undefined || paths.length === 0) throw new Error(`bad COPY: ${args}`);
  return { from, sources: paths, destination };
}

/** The command of `CMD [...]` or `HEALTHCHECK [options] CMD [...]`, exec form only. */
export function execForm(args: string): string[] {
  const json = args.slice(args.indexOf('['));
  const command: unknown = JSON.parse(json);
  if (!Array.isArray(command) || !command.every((word) => typeof word === 'string')) {
    throw new Error(`not an exec-form command: ${args}`);
  }
  return command;
}

/** `ENV A=1 B=2` (the `ENV A 1` form is deprecated and not used here). */
export function parseEnvInstruction(args: string): Record<string, string> {
  const entries = args
    .trim()
    .split(/\s+/)
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`ENV without =: ${args}`);
      return [pair.slice(0, eq), pair.slice(eq + 1)] as const;
    });
  return Object.fromEntries(entries);
}
