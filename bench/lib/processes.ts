import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Running {
  /** What it is, for error messages ("ingest API", "bare server"). */
  name: string;
  child: ChildProcess;
  /** Peak resident set size so far (VmHWM), MB; undefined where /proc is not available. */
  peakRssMb(): number | undefined;
  /** Resident set size now (VmRSS), MB; undefined where /proc is not available. */
  rssMb(): number | undefined;
  /** Throws when the process has exited: whatever was measured since was not this process. */
  assertRunning(): void;
  stop(): Promise<void>;
}

/** Starts `node <args>` from the repository root with `env` on top of PATH. */
export function startNode(name: string, args: string[], env: Record<string, string> = {}): Running {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const statusMb = (field: RegExp) => {
    try {
      const kb = field.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
      return kb === undefined ? undefined : Math.round(Number(kb) / 1024);
    } catch {
      return undefined;
    }
  };
  return {
    name,
    child,
    peakRssMb: () => statusMb(/VmHWM:\s+(\d+) kB/),
    rssMb: () => statusMb(/VmRSS:\s+(\d+) kB/),
    assertRunning: () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(
          `${name} (pid ${child.pid}) exited (${child.exitCode ?? child.signalCode}); its figures are not valid`,
        );
      }
    },
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killTimer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killTimer);
    },
  };
}

/** Resolves with the first stdout line of `running` matching `pattern`, or throws. */
export function waitForLine(
  running: Running,
  pattern: RegExp,
  timeoutMs = 10_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => done(new Error(`${running.name}: no ${pattern} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => pattern.test(l));
      if (line !== undefined) done(undefined, line);
    };
    const onExit = () => done(new Error(`${running.name} exited before printing ${pattern}`));
    const done = (error?: Error, line?: string) => {
      clearTimeout(timer);
      running.child.stdout?.off('data', onData);
      running.child.off('exit', onExit);
      if (error) reject(error);
      else resolve(line ?? '');
    };
    running.child.stdout?.on('data', onData);
    running.child.once('exit', onExit);
  });
}

/** A TCP port free on 127.0.0.1 right now, chosen by the kernel. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/**
 * Checks that `running` itself listens on `port` (Linux: its open sockets against the
 * kernel's table of listening sockets), so a phase never measures a stray process that held
 * the port while ours died with EADDRINUSE. Elsewhere it checks only that the process lives.
 */
export function assertListensOn(running: Running, port: number): void {
  running.assertRunning();
  const listening = listeningInodes(port);
  if (listening === undefined) return;
  const pid = running.child.pid;
  const ownSockets = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (link.startsWith('socket:[')) ownSockets.add(link.slice(8, -1));
    } catch {
      // closed meanwhile
    }
  }
  if (![...listening].some((inode) => ownSockets.has(inode))) {
    throw new Error(
      `${running.name} (pid ${pid}) does not own port ${port}: ${listening.size === 0 ? 'nothing listens there' : 'another process listens there'}`,
    );
  }
}

/** Inodes of sockets listening on `port` (IPv4 and IPv6); undefined without /proc. */
function listeningInodes(port: number): Set<string> | undefined {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let found = false;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    found = true;
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT, st 0A is LISTEN, inode is the tenth field.
      if (fields[1]?.endsWith(`:${hexPort}`) && fields[3] === '0A' && fields[9] !== undefined) {
        inodes.add(fields[9]);
      }
    }
  }
  return found ? inodes : undefined;
}

/** Runs a load generator to completion and returns the JSON line it prints. */
export async function runJson<T>(args: string[]): Promise<T> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`${args.join(' ')} exited with ${code}`);
  return JSON.parse(out.trim().split('\n').at(-1) ?? '') as T;
}

/** Polls `url` until it answers 200, or throws after `timeoutMs`. */
export async function waitUntilOk(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} not ready within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
