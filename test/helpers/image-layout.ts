import { cpSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import {
  argsOf,
  type DockerStage,
  execForm,
  parseCopy,
  parseEnvInstruction,
  readDockerfile,
} from './dockerfile.js';
import { runCommand } from './run-command.js';

/** Build-stage steps that install pnpm and the dependencies: a checked-out repository has both. */
const INSTALL_STEPS = [/^npm install --global pnpm@/, /^pnpm fetch\b/, /^pnpm install\b/];

export interface ImageLayout {
  /** The folder standing for the image's working directory. */
  root: string;
  /** The image's `ENV`, paths inside the image moved into `root`. */
  env: Record<string, string>;
  /** `CMD`, exec form. */
  command: string[];
  /** `HEALTHCHECK … CMD`, exec form. */
  healthcheck: string[];
  user: string | undefined;
}

/**
 * What a service's Dockerfile puts in its image, laid out without Docker: the build stage's
 * steps run in the repository (which stands for the build stage's working directory; its
 * install steps are skipped, the repository being installed), then the last stage's COPY, ENV,
 * USER, CMD and HEALTHCHECK are applied to `outDir`. Absolute paths are moved under `outDir`.
 */
export async function assembleImage(options: {
  repository: string;
  dockerfile: string;
  outDir: string;
}): Promise<ImageLayout> {
  const stages = readDockerfile(options.dockerfile);
  const [build, runtime] = [stages[0], stages.at(-1)];
  if (stages.length !== 2 || build?.name === undefined || runtime === undefined) {
    throw new Error(`${options.dockerfile}: expected a named build stage and a runtime stage`);
  }
  const buildWorkdir = lastWorkdir(build);
  const scratch = path.join(options.outDir, 'build-stage');
  // A path in the build stage: its working directory is the repository, the rest is scratch.
  const buildPath = (p: string) =>
    p === buildWorkdir || p.startsWith(`${buildWorkdir}/`)
      ? path.join(options.repository, p.slice(buildWorkdir.length))
      : path.join(scratch, p);

  for (const instruction of build.instructions) {
    if (instruction.keyword === 'COPY') {
      const copy = parseCopy(instruction.args);
      if (copy.from !== undefined || !['.', './'].includes(copy.destination)) {
        throw new Error(`build stage: unsupported ${instruction.args}`);
      }
    }
    if (instruction.keyword !== 'RUN') continue;
    if (INSTALL_STEPS.some((step) => step.test(instruction.args))) continue;
    mkdirSync(scratch, { recursive: true });
    const script = instruction.args.replace(/(?<=^|\s)\/[^\s'"]*/g, (p) => buildPath(p));
    const result = await runCommand('sh', ['-c', script], {
      cwd: options.repository,
      env: process.env,
      timeoutMs: 240_000,
    });
    if (result.code !== 0) {
      throw new Error(`RUN ${instruction.args} failed (${result.code}):\n${result.output}`);
    }
  }

  const workdir = lastWorkdir(runtime);
  const root = path.join(options.outDir, 'image');
  const imagePath = (p: string) => {
    const absolute = path.posix.resolve(workdir, p);
    if (absolute !== workdir && !absolute.startsWith(`${workdir}/`)) {
      throw new Error(`runtime stage: ${p} is outside the working directory ${workdir}`);
    }
    return path.join(root, absolute.slice(workdir.length));
  };
  mkdirSync(root, { recursive: true });
  const env: Record<string, string> = {};
  let command: string[] = [];
  let healthcheck: string[] = [];
  let user: string | undefined;
  for (const { keyword, args } of runtime.instructions) {
    if (keyword === 'COPY') {
      const copy = parseCopy(args);
      if (copy.from !== undefined && copy.from !== build.name) {
        throw new Error(`runtime stage: COPY from unknown stage ${copy.from}`);
      }
      for (const source of copy.sources) {
        const from =
          copy.from === undefined ? path.join(options.repository, source) : buildPath(source);
        cpSync(from, imagePath(copy.destination), { recursive: true, verbatimSymlinks: true });
      }
    } else if (keyword === 'ENV') {
      for (const [name, value] of Object.entries(parseEnvInstruction(args))) {
        env[name] = value.startsWith('/') ? imagePath(value) : value;
      }
    } else if (keyword === 'USER') user = args.trim();
    else if (keyword === 'CMD') command = execForm(args);
    else if (keyword === 'HEALTHCHECK') healthcheck = execForm(args);
  }
  return { root, env, command, healthcheck, user };
}

function lastWorkdir(stage: DockerStage): string {
  const workdir = argsOf(stage, 'WORKDIR').at(-1);
  if (workdir === undefined || !workdir.startsWith('/')) {
    throw new Error(`stage ${stage.name ?? stage.image}: expected an absolute WORKDIR`);
  }
  return workdir;
}
