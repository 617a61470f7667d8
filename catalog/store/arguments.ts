/** What both backends share: argument checks (so they refuse the same calls alike) and paging. */
import { InvalidNameError } from '../errors.js';
import { assertSafePrefix } from '../paths.js';
import type { ByteRange, ListOptions, ListPage, ObjectInfo } from './types.js';

export const MAX_LIST_KEYS = 1000;

export function maxKeysOf(options: ListOptions | undefined): number {
  const maxKeys = options?.maxKeys ?? MAX_LIST_KEYS;
  if (!Number.isInteger(maxKeys) || maxKeys < 1 || maxKeys > MAX_LIST_KEYS) {
    throw new RangeError(`maxKeys must be an integer from 1 to ${MAX_LIST_KEYS}, got ${maxKeys}`);
  }
  return maxKeys;
}

export function assertByteRange(range: ByteRange): void {
  const { offset, length } = range;
  if (
    !Number.isSafeInteger(offset) ||
    offset < 0 ||
    (length !== undefined && (!Number.isSafeInteger(length) || length < 0))
  ) {
    throw new RangeError(`invalid byte range: offset ${offset}, length ${length}`);
  }
}

/** A prefix that names a whole directory of keys: '' or a safe prefix ending in '/'. */
export function assertDirectoryPrefix(prefix: string): string {
  assertSafePrefix(prefix);
  if (prefix !== '' && !prefix.endsWith('/')) {
    throw new InvalidNameError(
      `storage prefix ${JSON.stringify(prefix.slice(0, 200))} must be '' or end with '/'`,
    );
  }
  return prefix;
}

/** `listAll` for any backend: follows `list` pages until there is no next token. */
export async function* listAllPages(
  list: (prefix: string, options?: ListOptions) => Promise<ListPage>,
  prefix: string,
  options?: Pick<ListOptions, 'startAfter'>,
): AsyncIterable<ObjectInfo> {
  let page = await list(prefix, options);
  yield* page.objects;
  while (page.nextToken !== undefined) {
    page = await list(prefix, { ...options, continuationToken: page.nextToken });
    yield* page.objects;
  }
}
