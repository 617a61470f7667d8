/**
 * MessagePack writes (`POST /api/v1/write/msgpack`, Arc's format): msgpack-reader.ts turns the bytes
 * into the document, keeping which numbers were floats; items.ts turns the document into tables.
 */
import type { DecodeContext, TableBatch } from '../batch.js';
import { decodeItems, type ItemFormat } from './items.js';
import { readMsgpack } from './msgpack-reader.js';

const FORMAT: ItemFormat = { code: 'INVALID_MSGPACK', name: 'MessagePack' };

export function decodeMsgpack(body: Uint8Array, ctx: DecodeContext): TableBatch[] {
  return decodeItems(readMsgpack(body), ctx, FORMAT);
}
