import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BuildLockTimeoutError, withBuildLock } from '../scripts/build-lock.js';

// The lock that keeps two builds of the workspace (two `pnpm start`s at once, say) from writing
// the same dist/ at the same time.

let dir: string;
let lockPath: string;
const never = new AbortController().signal;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'build-lock-'));
  lockPath = path.join(dir, 'cache', 'build.lock');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A pid no process has: above Linux's and macOS's largest. */
const DEAD_PID = 2 ** 30;

describe('withBuildLock', () => {
  it('runs one task at a time: the second starts only when the first has finished', async () => {
    const events: string[] = [];
    let finishFirst = () => {};
    const firstMayFinish = new Promise<void>((resolve) => {
      finishFirst = resolve;
    });
    const waitedFor: number[] = [];
    const first = withBuildLock({ lockPath, signal: never }, async () => {
      events.push('first starts');
      await firstMayFinish;
      events.push('first ends');
    });
    await expect.poll(() => events).toEqual(['first starts']);
    const second = withBuildLock(
      { lockPath, signal: never, pollMs: 10, onWait: (pid) => waitedFor.push(pid) },
      async () => {
        events.push('second starts');
      },
    );
    await expect.poll(() => waitedFor).toEqual([process.pid]);
    expect(events).toEqual(['first starts']);
    finishFirst();
    await Promise.all([first, second]);
    expect(events).toEqual(['first starts', 'first ends', 'second starts']);
    expect(existsSync(lockPath)).toBe(false);
  });

  it('releases the lock when the task fails', async () => {
    await expect(
      withBuildLock({ lockPath, signal: never }, async () => {
        throw new Error('tsc failed');
      }),
    ).rejects.toThrow('tsc failed');
    expect(existsSync(lockPath)).toBe(false);
  });

  it('takes over a lock whose owner no longer runs (killed during its build)', async () => {
    await withBuildLock({ lockPath, signal: never }, async () => {});
    await writeFile(lockPath, String(DEAD_PID));
    const waitedFor: number[] = [];
    const ran = await withBuildLock(
      { lockPath, signal: never, timeoutMs: 1_000, onWait: (pid) => waitedFor.push(pid) },
      async () => readFile(lockPath, 'utf8'),
    );
    expect(ran).toBe(String(process.pid));
    expect(waitedFor).toEqual([]);
    expect(existsSync(lockPath)).toBe(false);
  });

  it('gives up after timeoutMs while a live process holds it, naming the lock', async () => {
    await withBuildLock({ lockPath, signal: never }, async () => {});
    // This process is alive, so its lock is not stale.
    await writeFile(lockPath, String(process.pid));
    const error = await withBuildLock(
      { lockPath, signal: never, timeoutMs: 100, pollMs: 10 },
      async () => {},
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuildLockTimeoutError);
    expect((error as BuildLockTimeoutError).code).toBe('BUILD_LOCK_TIMEOUT');
    expect((error as Error).message).toContain(lockPath);
    expect(await readFile(lockPath, 'utf8')).toBe(String(process.pid));
  });

  it('stops waiting when aborted, leaving the holder its lock', async () => {
    await withBuildLock({ lockPath, signal: never }, async () => {});
    await writeFile(lockPath, String(process.pid));
    const stop = new AbortController();
    let ran = false;
    const waiting = withBuildLock(
      {
        lockPath,
        signal: stop.signal,
        pollMs: 10,
        onWait: () => stop.abort(new Error('stopped by SIGINT')),
      },
      async () => {
        ran = true;
      },
    );
    await expect(waiting).rejects.toThrow('stopped by SIGINT');
    expect(ran).toBe(false);
    expect(await readFile(lockPath, 'utf8')).toBe(String(process.pid));
  });
});
