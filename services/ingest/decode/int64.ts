/**
 * Writing int64 values without a BigInt per value. Decoders fill BigInt64Arrays through an Int32Array
 * view of the same memory: a safe integer splits into two exact 32-bit words, which costs a few
 * arithmetic operations where `BigInt(n)` costs a heap allocation (this is most of the gap between
 * 1M and 3M rows/s).
 */

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Offset of the low and the high word of element i: `2 * i + LO`, `2 * i + HI`. */
export const LO = LITTLE_ENDIAN ? 0 : 1;
export const HI = 1 - LO;
export const TWO_32 = 4294967296;

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

/** The 32-bit words of `values`, two per element. */
export function wordsOf(values: BigInt64Array): Int32Array {
  return new Int32Array(values.buffer, values.byteOffset, values.length * 2);
}

/** Stores safe integer `n` as element `i`, exactly. */
export function writeSafeInt(words: Int32Array, i: number, n: number): void {
  const hi = Math.floor(n / TWO_32);
  words[2 * i + LO] = (n - hi * TWO_32) | 0;
  words[2 * i + HI] = hi;
}

/** Element `i` as a number when it is a safe integer, else undefined (then read the bigint). */
export function readSafeInt(words: Int32Array, i: number): number | undefined {
  const hi = words[2 * i + HI]!;
  // |value| < 2^53 exactly when the high word is within ±2^21.
  if (hi >= 0x200000 || hi < -0x200000) return undefined;
  return hi * TWO_32 + (words[2 * i + LO]! >>> 0);
}
