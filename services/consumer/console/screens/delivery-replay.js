// Sending deliveries again from the console: the count of a dry run first, then, once
// confirmed, the screen `open` names shows again with how many were queued.
import { counted, startReplay } from '../lib/replay.js';

const NOUNS = ['delivery', 'deliveries'];

/** What a replay did, for the screen shown after it. */
function queuedText({ matched, queued }) {
  const sent = `Queued ${counted(queued, NOUNS)} to be sent again, from the start of the retry schedule`;
  if (queued === matched) return `${sent}.`;
  // The API leaves a delivery being sent right now to finish rather than send it twice at once.
  const busy = matched - queued;
  return `${sent}; ${busy} of the ${matched} selected: being sent, left to finish.`;
}

/**
 * Replays `selection` (`ids`, or `subscriptionId` with filters) once confirmed; then `open`s
 * `hash` with how many were queued. `describe` names the selection, `nothing` is shown when it
 * selects none, `confirmLabel(count)` labels the confirm button.
 */
export function replayDeliveries({
  panel,
  selection,
  describe,
  nothing,
  confirmLabel,
  open,
  hash,
}) {
  return startReplay({
    panel,
    path: '/deliveries/replay',
    selection,
    words: {
      nouns: NOUNS,
      describe,
      nothing,
      consequence:
        'will be pending again and sent from the start of the retry schedule, with the same webhook-id.',
      confirmLabel,
    },
    done: (result) => open(hash, queuedText(result)),
  });
}
