/** The wire-format decoders of the ingest path: request body → one TableBatch per table (DESIGN.md §5). */
export { type ArrowContext, decodeArrowIpc } from './arrow.js';
export { type BodyLimits, decodeBody } from './compression.js';
export { decodeJson } from './json.js';
export { decodeLineProtocol, type LineProtocolContext } from './line-protocol.js';
export { decodeMsgpack } from './msgpack.js';
