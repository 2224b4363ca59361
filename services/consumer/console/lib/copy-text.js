import { say } from './view.js';

/** Copies `text`; where the clipboard is not available, selects `node` for the user to copy. */
export async function copyText(text, node) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Not a secure context (plain http on another host): select it for Ctrl+C instead.
    const range = document.createRange();
    range.selectNodeContents(node);
    const selection = getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    say('Selected: press Ctrl+C (⌘C) to copy.');
    return;
  }
  say('Copied to the clipboard.');
}
