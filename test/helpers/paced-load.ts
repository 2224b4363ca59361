import type { Answer, Reconciler } from './reconcile.js';

export interface TimedAnswer {
  id: string;
  answer: Answer;
  /** `Date.now()` when the request was sent and when its answer came. */
  sentAtMs: number;
  answeredAtMs: number;
}

export interface PacedLoadResult {
  answers: TimedAnswer[];
  /** Sends skipped because `maxInFlight` requests were already waiting. */
  skipped: number;
  /** Requests sent per second, measured. */
  achievedRatePerSecond: number;
}

/**
 * Sends events with unique ids `<prefix>-<n>` at a fixed rate for `durationMs` (open loop: a
 * slow answer does not slow the sending, up to `maxInFlight` waiting), recording every answer
 * in `reconciler` and with its times. Stops by itself; resolves once every answer is in.
 */
export async function sendAtRate(options: {
  reconciler: Reconciler;
  source: string;
  prefix: string;
  ratePerSecond: number;
  durationMs: number;
  maxInFlight: number;
  post: (body: Record<string, unknown>) => Promise<number>;
}): Promise<PacedLoadResult> {
  const answers: TimedAnswer[] = [];
  const waiting = new Set<Promise<void>>();
  const started = Date.now();
  let sent = 0;
  let skipped = 0;
  const send = (n: number) => {
    const id = `${options.prefix}-${n}`;
    const sentAtMs = Date.now();
    const body = { source: options.source, type: 'reconcile', id, data: { id } };
    const request = options.post(body).then(
      (status) => status as Answer,
      () => 'error' as const,
    );
    const done = request.then((answer) => {
      options.reconciler.answers.set(id, answer);
      answers.push({ id, answer, sentAtMs, answeredAtMs: Date.now() });
      waiting.delete(done);
    });
    waiting.add(done);
  };
  for (;;) {
    const elapsedMs = Date.now() - started;
    if (elapsedMs >= options.durationMs) break;
    const due = Math.floor((elapsedMs / 1000) * options.ratePerSecond);
    while (sent < due) {
      if (waiting.size >= options.maxInFlight) skipped += 1;
      else send(sent);
      sent += 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await Promise.all(waiting);
  const elapsedSeconds = (Date.now() - started) / 1000;
  return {
    answers,
    skipped,
    achievedRatePerSecond: Math.round((sent - skipped) / elapsedSeconds),
  };
}
