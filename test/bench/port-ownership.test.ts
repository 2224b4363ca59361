import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  assertListensOn,
  type Running,
  startNode,
  waitForLine,
} from '../../bench/lib/processes.js';

// The bench once measured a stray process: its own server died with EADDRINUSE on a fixed
// port while another process answered there. Each phase now checks who listens.
const LISTENER = `
const server = require('node:net').createServer(() => {});
server.listen(0, '127.0.0.1', () => console.log('listening ' + server.address().port));
`;

const started: Running[] = [];
let stray: Server | undefined;

afterEach(async () => {
  for (const running of started.splice(0)) await running.stop();
  await new Promise((resolve) => (stray ? stray.close(resolve) : resolve(undefined)));
  stray = undefined;
});

describe('bench: a phase measures only what it started', () => {
  it('accepts a process on the port it listens on', async () => {
    const running = startNode('listener', ['-e', LISTENER]);
    started.push(running);
    const port = Number((await waitForLine(running, /^listening \d+/)).split(' ')[1]);
    expect(() => assertListensOn(running, port)).not.toThrow();
  });

  it('refuses when another process holds the port', async () => {
    stray = createServer();
    const port = await new Promise<number>((resolve) =>
      stray?.listen(0, '127.0.0.1', () => {
        const address = stray?.address();
        resolve(typeof address === 'object' && address !== null ? address.port : 0);
      }),
    );
    const running = startNode('listener', ['-e', LISTENER]);
    started.push(running);
    await waitForLine(running, /^listening \d+/);
    expect(() => assertListensOn(running, port)).toThrow(/another process listens there/);
  });

  it('refuses once the process has exited', async () => {
    const running = startNode('short-lived', ['-e', 'process.exit(3)']);
    await new Promise((resolve) => running.child.once('exit', resolve));
    expect(() => running.assertRunning()).toThrow(/exited \(3\)/);
  });
});
