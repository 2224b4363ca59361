import { createHash } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

// A package's dist/ holds, after a build, the hash of the sources it was built from. A start
// builds only the packages whose stamp differs (or is gone with dist/), so services started
// together on a built tree never rewrite files another service is loading.

const STAMP = path.join('dist', '.source-hash');
/** What a package's `tsc -p tsconfig.build.json` reads, besides its dependencies' builds. */
const WORKSPACE_INPUTS = ['tsconfig.base.json', 'pnpm-lock.yaml'];
const PACKAGE_INPUTS = ['package.json', 'tsconfig.build.json'];

/** A hash of everything the package's build depends on in the repository. */
export async function sourceHash(root: string, packageDir: string): Promise<string> {
  const hash = createHash('sha256');
  const files = [
    ...WORKSPACE_INPUTS.map((file) => path.join(root, file)),
    ...PACKAGE_INPUTS.map((file) => path.join(packageDir, file)),
    ...(await filesUnder(path.join(packageDir, 'src'))),
  ];
  for (const file of files) {
    hash.update(path.relative(root, file)).update('\0');
    hash.update(await readFile(file).catch(() => 'missing')).update('\0');
  }
  return hash.digest('hex');
}

/** The hash the package's dist/ was built from, if it says. */
export async function builtFrom(packageDir: string): Promise<string | undefined> {
  return readFile(path.join(packageDir, STAMP), 'utf8').catch(() => undefined);
}

export async function recordBuild(packageDir: string, hash: string): Promise<void> {
  await writeFile(path.join(packageDir, STAMP), hash);
}

/** Makes the next start build the package (and what depends on it) again. */
export async function forgetBuild(packageDir: string): Promise<void> {
  await rm(path.join(packageDir, STAMP), { force: true });
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const files: string[] = [];
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) files.push(...(await filesUnder(full)));
    else if (entry.isFile()) files.push(full);
  }
  return files;
}
