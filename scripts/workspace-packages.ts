import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';

/** A package of the workspace that has a `build` script. */
export interface WorkspacePackage {
  /** The name in its package.json, e.g. `@webhooks/queue`. */
  name: string;
  /** Absolute path of its folder. */
  dir: string;
  /** Names of the workspace packages it depends on (`workspace:` ranges). */
  workspaceDependencies: string[];
}

interface Manifest {
  name?: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/**
 * The packages `pnpm-workspace.yaml` lists that have a `build` script. Patterns are folders or
 * `folder/*`, the only forms this workspace uses.
 */
export async function workspacePackages(root: string): Promise<WorkspacePackage[]> {
  const workspace = parse(await readFile(path.join(root, 'pnpm-workspace.yaml'), 'utf8')) as {
    packages?: string[];
  };
  const dirs: string[] = [];
  for (const pattern of workspace.packages ?? []) {
    if (pattern.endsWith('/*') && !/[*?[{!]/.test(pattern.slice(0, -2))) {
      const parent = path.join(root, pattern.slice(0, -2));
      const entries = await readdir(parent, { withFileTypes: true });
      dirs.push(...entries.filter((e) => e.isDirectory()).map((e) => path.join(parent, e.name)));
    } else if (!/[*?[{!]/.test(pattern)) {
      dirs.push(path.join(root, pattern));
    } else {
      throw new Error(`pnpm-workspace.yaml: the pattern ${pattern} is not supported here`);
    }
  }
  const packages: WorkspacePackage[] = [];
  for (const dir of dirs.sort()) {
    const manifestPath = path.join(dir, 'package.json');
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Manifest;
    if (manifest.name === undefined || manifest.scripts?.build === undefined) continue;
    const ranges = { ...manifest.dependencies, ...manifest.devDependencies };
    packages.push({
      name: manifest.name,
      dir,
      workspaceDependencies: Object.keys(ranges).filter((dependency) =>
        ranges[dependency]?.startsWith('workspace:'),
      ),
    });
  }
  return packages;
}

/** `selected` and every package that depends on one of them, directly or not, in `all`'s order. */
export function withDependents(
  all: readonly WorkspacePackage[],
  selected: readonly WorkspacePackage[],
): WorkspacePackage[] {
  const names = new Set(selected.map((p) => p.name));
  let grew = true;
  while (grew) {
    grew = false;
    for (const p of all) {
      if (!names.has(p.name) && p.workspaceDependencies.some((d) => names.has(d))) {
        names.add(p.name);
        grew = true;
      }
    }
  }
  return all.filter((p) => names.has(p.name));
}
