/**
 * MessagePack writes (`POST /api/v1/write/msgpack`, Arc's format): msgpackr turns the bytes into the
 * document, items.ts turns the document into tables.
 */
import { Unpackr } from 'msgpackr';
import type { DecodeContext, TableBatch } from '../batch.js';
import { IngestError } from '../errors.js';
import { decodeItems, type ItemFormat } from './items.js';

// int64/uint64 arrive as bigint, exactly (nanosecond times, large counters); maps as plain objects.
const unpackr = new Unpackr({ int64AsType: 'bigint', mapsAsObjects: true, useRecords: false });

const FORMAT: ItemFormat = { code: 'INVALID_MSGPACK', name: 'MessagePack' };

export function decodeMsgpack(body: Uint8Array, ctx: DecodeContext): TableBatch[] {
  let document: unknown;
  try {
    document = unpackr.unpack(body);
  } catch (error) {
    const reason = (error as Error).message.slice(0, 200);
    throw new IngestError('INVALID_MSGPACK', `invalid MessagePack body (${body.length} bytes): ${reason}`);
  }
  return decodeItems(document, ctx, FORMAT);
}
