import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

export interface BuildLockOptions {
  /** The lock file. It holds the owner's pid and exists only while a build runs. */
  lockPath: string;
  /** Aborting stops the wait: the call rejects with the signal's reason. */
  signal: AbortSignal;
  /** Longest wait for another process's build, ms. Default 600000 (10 minutes). */
  timeoutMs?: number;
  /** How often the lock is tried while another process holds it, ms. Default 200. */
  pollMs?: number;
  /** Told once, with the owner's pid, when the lock is held by another process. */
  onWait?: (ownerPid: number) => void;
}

export class BuildLockTimeoutError extends Error {
  readonly code = 'BUILD_LOCK_TIMEOUT';
  override readonly name = 'BuildLockTimeoutError';
}

/**
 * Runs `task` holding a lock that other processes of this machine respect: one build of the
 * workspace at a time. A lock left by a process that died (killed during its build) is taken
 * over, since its pid no longer runs.
 */
export async function withBuildLock<T>(
  options: BuildLockOptions,
  task: () => Promise<T>,
): Promise<T> {
  await acquire(options);
  try {
    return await task();
  } finally {
    await release(options.lockPath);
  }
}

async function acquire(options: BuildLockOptions): Promise<void> {
  const { lockPath, signal, timeoutMs = 600_000, pollMs = 200, onWait } = options;
  await mkdir(path.dirname(lockPath), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    signal.throwIfAborted();
    if (await tryCreate(lockPath)) return;
    const owner = await ownerOf(lockPath);
    if (owner !== undefined && !isRunning(owner)) {
      await breakStale(lockPath, owner);
      continue;
    }
    if (owner !== undefined && !told) {
      onWait?.(owner);
      told = true;
    }
    if (Date.now() >= deadline) {
      throw new BuildLockTimeoutError(
        `another build (process ${owner}) still holds ${lockPath} after ${timeoutMs} ms`,
      );
    }
    // Rejects with the signal's reason, as the top of the loop does.
    await delay(pollMs, undefined, { signal }).catch(() => signal.throwIfAborted());
  }
}

/** Creates the lock with its content in one step: a link fails if the lock exists. */
async function tryCreate(lockPath: string): Promise<boolean> {
  const draft = `${lockPath}.${process.pid}.${randomUUID()}`;
  await writeFile(draft, String(process.pid));
  try {
    await link(draft, lockPath);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    await rm(draft, { force: true });
  }
}

/** The pid in the lock; `undefined` when there is no lock; NaN when it says nothing sensible. */
async function ownerOf(lockPath: string): Promise<number | undefined> {
  const text = await readFile(lockPath, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  return text === undefined ? undefined : Number.parseInt(text, 10);
}

function isRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Moves the dead owner's lock aside and deletes it. The move is atomic, so when two waiters
 * break the same lock only one moves it; if the lock moved turns out to be a live one (the other
 * waiter already broke the stale lock and took a new one in between), it is put back.
 */
async function breakStale(lockPath: string, deadOwner: number): Promise<void> {
  const aside = `${lockPath}.stale.${randomUUID()}`;
  try {
    await rename(lockPath, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const moved = await ownerOf(aside);
  if (moved !== undefined && !Object.is(moved, deadOwner)) {
    await link(aside, lockPath).catch(() => {});
  }
  await rm(aside, { force: true });
}

async function release(lockPath: string): Promise<void> {
  if ((await ownerOf(lockPath)) === process.pid) await rm(lockPath, { force: true });
}
