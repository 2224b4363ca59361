import { randomBytes } from 'node:crypto';

/** A name no other test file or run uses, e.g. for a queue or a database. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
}
