/** Argument checks both backends share, so local and S3 refuse the same calls the same way. */
import type { ByteRange, ListOptions } from './types.js';

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
