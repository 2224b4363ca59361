import type { IncomingMessage } from 'node:http';

export interface DiscardBounds {
  /** Most bytes to read and throw away; past it (or a declared length past it), give up. */
  maxBytes: number;
  /** Longest wait for the rest of the body. */
  timeoutMs: number;
}

/**
 * Reads and throws away the rest of a request body the API will not take, so that the answer
 * (413) reaches the sender: a client still writing its body when the server closes gets a
 * reset instead of the answer (Node's `fetch` fails with EPIPE). Resolves true once the body
 * has ended; false at once when its declared length is past `maxBytes`, and false when the
 * body goes past `maxBytes`, takes longer than `timeoutMs` or is aborted: the caller then
 * answers and closes without reading more.
 */
export function discardRequestBody(
  request: IncomingMessage,
  bounds: DiscardBounds,
): Promise<boolean> {
  if (request.readableEnded || request.complete) return Promise.resolve(true);
  const declared = Number(request.headers['content-length']);
  if (declared > bounds.maxBytes) return Promise.resolve(false);
  if (request.destroyed) return Promise.resolve(false);

  return new Promise((resolve) => {
    let discardedBytes = 0;
    const finish = (ended: boolean) => {
      clearTimeout(timer);
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onAbort);
      request.off('close', onAbort);
      if (!ended) request.pause();
      resolve(ended);
    };
    const onData = (chunk: Buffer) => {
      discardedBytes += chunk.length;
      if (discardedBytes > bounds.maxBytes) finish(false);
    };
    const onEnd = () => finish(true);
    const onAbort = () => finish(false);
    const timer = setTimeout(() => finish(false), bounds.timeoutMs);
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onAbort);
    request.on('close', onAbort);
    request.resume();
  });
}
