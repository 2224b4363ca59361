import type { ChannelModel } from 'amqplib';

/** The parts of amqplib's connection this module touches (its `Mux` and socket). */
interface MuxLike {
  out?: { cork?: () => void; uncork?: () => void };
  _readIncoming?: () => void;
}

/**
 * amqplib queues each channel's frames and writes them to the socket from one pass of its `Mux`
 * (`lib/mux.js`), one `socket.write` per publish: a system call each, the largest single cost of
 * a publish in a CPU profile of the ingest API under load. Corking the socket for the length of
 * that pass hands the kernel every frame queued in this turn of the event loop in one `writev`.
 * Nothing is held back: the socket is uncorked as soon as the pass ends, and the mux still stops
 * when the socket's buffer is full and resumes on `drain`, as before.
 *
 * Returns false, and changes nothing, when amqplib's internals are not what this expects (a
 * version that moved them): frames are then written one by one, as amqplib does by itself.
 */
export function coalesceFrameWrites(model: ChannelModel): boolean {
  const muxer = (model as unknown as { connection?: { muxer?: MuxLike } }).connection?.muxer;
  const out = muxer?.out;
  const pass = muxer?._readIncoming;
  if (
    muxer === undefined ||
    typeof pass !== 'function' ||
    typeof out?.cork !== 'function' ||
    typeof out.uncork !== 'function'
  ) {
    return false;
  }
  const { cork, uncork } = { cork: out.cork.bind(out), uncork: out.uncork.bind(out) };
  muxer._readIncoming = function readIncomingCorked(this: MuxLike) {
    cork();
    try {
      pass.call(muxer);
    } finally {
      uncork();
    }
  };
  return true;
}
