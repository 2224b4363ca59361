// Replaying dead letters from the console: the count of a dry run first, then, once confirmed,
// how many messages moved back to the main queue.
import { h } from '../lib/dom.js';
import { counted, startReplay as countThenReplay, replayPanel } from '../lib/replay.js';
import { say } from '../lib/view.js';

export { replayPanel };

const NOUNS = ['dead letter', 'dead letters'];

/**
 * Replays `selection` (`ids`, or the filters) once confirmed. `panel` shows the count, then the
 * result; `describe` names the selection in it; its Refresh button calls `reload`.
 */
export function startReplay({ panel, selection, describe, reload }) {
  return countThenReplay({
    panel,
    path: '/dead-letters/replay',
    selection,
    words: {
      nouns: NOUNS,
      describe,
      nothing: `Nothing to replay: none of ${describe} is waiting in the dead-letter queue.`,
      consequence: 'will move back to the main queue and be tried again.',
      confirmLabel: (count) => `Replay ${count}`,
    },
    done: (result) => {
      // One dead letter can stand for several messages in the queue (copies of one event):
      // `moved` counts messages, `matched` dead letters.
      const moved = `Moved ${counted(result.moved, ['message', 'messages'])} of ${counted(result.matched, NOUNS)}`;
      panel.className = 'result';
      panel.replaceChildren(
        h('p', {}, h('strong', {}, moved), ' back to the main queue.'),
        h('div', { class: 'toolbar' }, h('button', { type: 'button', onclick: reload }, 'Refresh')),
      );
      say(`Replayed: ${moved.toLowerCase()}.`);
      panel.focus();
    },
  });
}
