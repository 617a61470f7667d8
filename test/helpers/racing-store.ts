/**
 * A local store that runs one piece of work right before its next commit (a put-if-absent of a
 * catalog log key, of any catalog): another writer's commit then lands between a caller's last
 * read and its own commit, which is otherwise a race too narrow to hit.
 */
import { LocalObjectStore, type ObjectBody } from '../../catalog/index.js';

export class RacingStore extends LocalObjectStore {
  /** Taken (and cleared) by the next commit, which waits for it. */
  beforeNextCommit: (() => Promise<void>) | undefined;

  override async putIfAbsent(key: string, body: ObjectBody): Promise<boolean> {
    const before = key.includes('/catalog/log/') ? this.beforeNextCommit : undefined;
    if (before) this.beforeNextCommit = undefined;
    await before?.();
    return super.putIfAbsent(key, body);
  }
}
