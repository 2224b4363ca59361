import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { builtFrom, forgetBuild, recordBuild, sourceHash } from '../scripts/build-stamp.js';
import { withDependents, workspacePackages } from '../scripts/workspace-packages.js';

// What `pnpm start` decides to build: the packages whose dist/ was not built from their
// current sources, and the packages depending on them.

const ROOT = fileURLToPath(new URL('../', import.meta.url));

let root: string;
let pkg: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'build-stamp-'));
  pkg = path.join(root, 'packages', 'a');
  await mkdir(path.join(pkg, 'src', 'routes'), { recursive: true });
  await writeFile(path.join(root, 'tsconfig.base.json'), '{}');
  await writeFile(path.join(root, 'pnpm-lock.yaml'), "lockfileVersion: '9.0'\n");
  await writeFile(path.join(pkg, 'package.json'), '{"name":"a"}');
  await writeFile(path.join(pkg, 'tsconfig.build.json'), '{}');
  await writeFile(path.join(pkg, 'src', 'index.ts'), 'export const a = 1;\n');
  await writeFile(path.join(pkg, 'src', 'routes', 'one.ts'), 'export const one = 1;\n');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('sourceHash', () => {
  it('stays the same while nothing the build reads changes', async () => {
    expect(await sourceHash(root, pkg)).toBe(await sourceHash(root, pkg));
    await mkdir(path.join(pkg, 'dist'));
    await writeFile(path.join(pkg, 'dist', 'index.js'), 'export const a = 1;\n');
    await writeFile(path.join(pkg, 'README.md'), 'not built');
    const before = await sourceHash(root, pkg);
    await writeFile(path.join(pkg, 'dist', 'index.js'), 'changed output');
    expect(await sourceHash(root, pkg)).toBe(before);
  });

  it.each([
    ['a source file, however deep', 'packages/a/src/routes/one.ts', 'export const one = 2;\n'],
    ['a new source file', 'packages/a/src/two.ts', 'export const two = 2;\n'],
    ['package.json', 'packages/a/package.json', '{"name":"a","type":"module"}'],
    ['tsconfig.build.json', 'packages/a/tsconfig.build.json', '{"compilerOptions":{}}'],
    ['tsconfig.base.json', 'tsconfig.base.json', '{"compilerOptions":{"strict":true}}'],
    ['the lockfile', 'pnpm-lock.yaml', "lockfileVersion: '9.0'\n# another\n"],
  ])('changes with %s', async (_, file, content) => {
    const before = await sourceHash(root, pkg);
    await writeFile(path.join(root, file), content);
    expect(await sourceHash(root, pkg)).not.toBe(before);
  });

  it('changes when a source file is renamed', async () => {
    const before = await sourceHash(root, pkg);
    await rm(path.join(pkg, 'src', 'routes', 'one.ts'));
    await writeFile(path.join(pkg, 'src', 'routes', 'uno.ts'), 'export const one = 1;\n');
    expect(await sourceHash(root, pkg)).not.toBe(before);
  });
});

describe('the build stamp in dist/', () => {
  it('is recorded after a build, and gone when forgotten or when dist/ is deleted', async () => {
    expect(await builtFrom(pkg)).toBeUndefined();
    await mkdir(path.join(pkg, 'dist'));
    const hash = await sourceHash(root, pkg);
    await recordBuild(pkg, hash);
    expect(await builtFrom(pkg)).toBe(hash);
    await forgetBuild(pkg);
    expect(await builtFrom(pkg)).toBeUndefined();
    await recordBuild(pkg, hash);
    await rm(path.join(pkg, 'dist'), { recursive: true });
    expect(await builtFrom(pkg)).toBeUndefined();
  });
});

describe('workspacePackages and withDependents', () => {
  it("list this workspace's packages, and a package's build brings its dependents'", async () => {
    const packages = await workspacePackages(ROOT);
    expect(packages.map((p) => p.name).sort()).toEqual([
      '@webhooks/config',
      '@webhooks/consumer',
      '@webhooks/contracts',
      '@webhooks/db',
      '@webhooks/ingest-api',
      '@webhooks/providers',
      '@webhooks/queue',
    ]);
    const named = (...names: string[]) => packages.filter((p) => names.includes(p.name));
    const names = (list: { name: string }[]) => list.map((p) => p.name).sort();
    // No service imports another: a service's build brings only itself.
    expect(names(withDependents(packages, named('@webhooks/consumer')))).toEqual([
      '@webhooks/consumer',
    ]);
    expect(names(withDependents(packages, named('@webhooks/ingest-api')))).toEqual([
      '@webhooks/ingest-api',
    ]);
    // Both services import the providers' package.
    expect(names(withDependents(packages, named('@webhooks/providers')))).toEqual([
      '@webhooks/consumer',
      '@webhooks/ingest-api',
      '@webhooks/providers',
    ]);
    // Transitively (every package imports contracts, directly or through config), all of them.
    expect(names(withDependents(packages, named('@webhooks/contracts')))).toEqual([
      '@webhooks/config',
      '@webhooks/consumer',
      '@webhooks/contracts',
      '@webhooks/db',
      '@webhooks/ingest-api',
      '@webhooks/providers',
      '@webhooks/queue',
    ]);
    expect(withDependents(packages, [])).toEqual([]);
  });

  it('follows dependents of dependents, whatever the order of the list', () => {
    const pkgOf = (name: string, ...deps: string[]) => ({
      name,
      dir: `/w/${name}`,
      workspaceDependencies: deps,
    });
    const base = pkgOf('base');
    const all = [pkgOf('app', 'lib'), pkgOf('lib', 'base'), base, pkgOf('other')];
    expect(withDependents(all, [base]).map((p) => p.name)).toEqual(['app', 'lib', 'base']);
  });
});
