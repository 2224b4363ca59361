import { spawn } from 'node:child_process';
import path from 'node:path';
import { withBuildLock } from './build-lock.js';
import { builtFrom, forgetBuild, recordBuild, sourceHash } from './build-stamp.js';
import { type WorkspacePackage, withDependents, workspacePackages } from './workspace-packages.js';

export interface BuildWorkspaceOptions {
  /** The repository root. */
  root: string;
  /** Build every package, also those whose dist/ was built from their current sources. */
  force: boolean;
  /** Aborting stops the wait for another build, or this build (its processes get SIGTERM). */
  signal: AbortSignal;
  /** One line for the person at the terminal. */
  log: (line: string) => void;
}

export class WorkspaceBuildError extends Error {
  readonly code = 'WORKSPACE_BUILD_FAILED';
  override readonly name = 'WorkspaceBuildError';
}

/**
 * Builds the packages whose dist/ does not match their sources, and those depending on them,
 * with `pnpm run build` in each, one process at a time on this machine: a second caller waits
 * for the first build, then finds dist/ current and builds nothing. Returns the names built.
 */
export async function buildWorkspace(options: BuildWorkspaceOptions): Promise<string[]> {
  const { root, force, signal, log } = options;
  const lockPath = path.join(root, 'node_modules', '.cache', 'webhook-pipeline', 'build.lock');
  return withBuildLock(
    { lockPath, signal, onWait: (pid) => log(`waiting for the build of process ${pid}`) },
    async () => {
      const packages = await workspacePackages(root);
      const hashes = new Map<string, string>();
      const changed: WorkspacePackage[] = [];
      for (const p of packages) {
        const hash = await sourceHash(root, p.dir);
        hashes.set(p.name, hash);
        if (force || (await builtFrom(p.dir)) !== hash) changed.push(p);
      }
      const toBuild = withDependents(packages, changed);
      if (toBuild.length === 0) {
        log('dist/ is up to date with the sources');
        return [];
      }
      const names = toBuild.map((p) => p.name);
      log(`building ${names.join(', ')}`);
      // Forgotten first: a build stopped halfway leaves no stamp claiming it finished.
      await Promise.all(toBuild.map((p) => forgetBuild(p.dir)));
      await runPnpmBuild({ root, names, signal });
      await Promise.all(toBuild.map((p) => recordBuild(p.dir, hashes.get(p.name) ?? '')));
      return names;
    },
  );
}

/** `pnpm run build` in the named packages, dependencies first, one package at a time. */
function runPnpmBuild(options: {
  root: string;
  names: readonly string[];
  signal: AbortSignal;
}): Promise<void> {
  const { root, names, signal } = options;
  const filters = names.flatMap((name) => ['--filter', name]);
  return new Promise((resolve, reject) => {
    // Its own process group, so that stopping reaches pnpm's children (tsc) too.
    const child = spawn(
      'pnpm',
      ['--recursive', '--workspace-concurrency=1', ...filters, 'run', 'build'],
      { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], detached: true },
    );
    const stop = () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGTERM');
      } catch {
        // The group has already ended.
      }
    };
    signal.addEventListener('abort', stop, { once: true });
    child.on('error', (err) => {
      signal.removeEventListener('abort', stop);
      reject(new WorkspaceBuildError('could not run pnpm to build the workspace', { cause: err }));
    });
    child.on('exit', (code, exitSignal) => {
      signal.removeEventListener('abort', stop);
      if (code === 0) resolve();
      else if (signal.aborted) reject(signal.reason);
      else reject(new WorkspaceBuildError(`the build failed (${code ?? exitSignal})`));
    });
  });
}
