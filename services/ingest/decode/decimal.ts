/**
 * Decimal text to double without building a string, correctly rounded (the same double Number()
 * gives). Line protocol's floats usually carry 16–17 significant digits (the shortest text of a
 * double), past what one exact division handles; Number() on a slice costs ~110 ns a value.
 *
 * [-]digits[.digits] with at most 19 significant digits and 22 fraction digits is M / 10^k with
 * M < 2^64 and 10^k an exact double. Up to 15 digits one division is exact and correctly rounded.
 * Beyond, M is held exactly as a double-double, the quotient is refined by its exact remainder
 * (Dekker's product), and the result is accepted only when the true value is clearly away from the
 * midpoints next to it; the rare rest (ties, powers of two, anything else) returns undefined and
 * the caller falls back to Number().
 */
import { HI, LO } from './int64.js';

const ZERO = 0x30;
const NINE = 0x39;
const DOT = 0x2e;
const MINUS = 0x2d;

/** Exact powers of ten (10^22 is the largest exact double power of ten). */
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, i) => 10 ** i);
/** Veltkamp's constant for splitting a double into two 26-bit halves (2^27 + 1). */
const SPLIT = 134217729;
/** How close to a midpoint (in ulps) the refined value may come before the answer is left to Number(). */
const MIDPOINT_MARGIN = 2 ** -30;

const scratch = new Float64Array(1);
const scratchWords = new Uint32Array(scratch.buffer);

/** Where a read stopped and what it read. */
export interface DecimalRead {
  value: number;
  /** The first byte after the number: not a digit, or a second dot, or the limit. */
  end: number;
}

/**
 * Reads `[-]digits[.digits]` from `start`, stopping before `limit` or at the first byte that cannot
 * continue it; the caller checks what follows. False when there is no number there or it is out
 * of the fast range (more digits); the caller then reads the text another way (exponents included).
 */
export function readDecimal(bytes: Uint8Array, start: number, limit: number, out: DecimalRead): boolean {
  let i = start;
  const negative = bytes[i] === MINUS;
  if (negative) i++;
  let high = 0; // the first 15 significant digits
  let low = 0; // the ones after them
  let lowDigits = 0;
  let significant = 0;
  let digits = 0;
  let dot = -1;
  for (; i < limit; i++) {
    const c = bytes[i]!;
    if (c >= ZERO && c <= NINE) {
      digits++;
      if (significant === 0 && c === ZERO) continue;
      if (++significant <= 15) high = high * 10 + (c - ZERO);
      else {
        low = low * 10 + (c - ZERO);
        lowDigits++;
      }
    } else if (c === DOT && dot < 0) dot = i;
    else break;
  }
  if (digits === 0 || significant > 19) return false;
  const scale = dot < 0 ? 0 : i - dot - 1;
  if (scale > 22) return false;
  const value = significant <= 15 ? high / POWERS_OF_TEN[scale]! : refined(high, low, lowDigits, scale);
  if (value === undefined) return false;
  out.value = negative ? -value : value;
  out.end = i;
  return true;
}

/** (high · 10^lowDigits + low) / 10^scale, correctly rounded, or undefined when too close to call. */
function refined(high: number, low: number, lowDigits: number, scale: number): number | undefined {
  // M = hi + lo exactly: the product's rounding error and the sum's are small integers.
  const shift = POWERS_OF_TEN[lowDigits]!;
  const product = high * shift;
  const productError = twoProductError(high, shift, product);
  const hi = product + low;
  const back = hi - product;
  const sumError = product - (hi - back) + (low - back);
  const lo = productError + sumError;

  const divisor = POWERS_OF_TEN[scale]!;
  const quotient = hi / divisor;
  // quotient · divisor = p + e exactly; hi - p is exact (they are within a factor of 2).
  const p = quotient * divisor;
  const e = twoProductError(quotient, divisor, p);
  const correction = (hi - p - e + lo) / divisor;
  const result = quotient + correction;

  scratch[0] = result;
  const word = scratchWords[HI]!;
  // A power of two has a narrower ulp below it: not worth the care, Number() decides.
  if ((word & 0xfffff) === 0 && scratchWords[LO] === 0) return undefined;
  scratchWords[HI] = (((word >>> 20) & 0x7ff) - 52) << 20;
  scratchWords[LO] = 0;
  const ulp = scratch[0];
  // The true value lies `offset` from result (quotient - result is exact: they are ulps apart).
  const offset = Math.abs(quotient - result + correction);
  if (Math.abs(offset - ulp / 2) < ulp * MIDPOINT_MARGIN) return undefined;
  return result;
}

/** a · b - product exactly, where product = fl(a · b) (Dekker). */
function twoProductError(a: number, b: number, product: number): number {
  let t = SPLIT * a;
  const aHigh = t - (t - a);
  const aLow = a - aHigh;
  t = SPLIT * b;
  const bHigh = t - (t - b);
  const bLow = b - bHigh;
  return aHigh * bHigh - product + aHigh * bLow + aLow * bHigh + aLow * bLow;
}
