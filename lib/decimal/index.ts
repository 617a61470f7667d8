/**
 * DECIMAL values from their unscaled integer and scale (`150` at scale 2 is `1.50`): their exact
 * text and their JSON form. The server's answers and the browser console share it, so both
 * engines give a DECIMAL the same JSON value.
 */

/** Exact decimal text of `scaled / 10^scale`, keeping all `scale` digits as DuckDB does (`1.50`). */
export function decimalText(scaled: number | bigint, scale: number): string {
  if (scale === 0) return String(scaled);
  const negative = scaled < 0;
  const digits = (negative ? String(scaled).slice(1) : String(scaled)).padStart(scale + 1, '0');
  return `${negative ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

/** Powers of ten that are exact doubles (10²² is the last). */
const EXACT_POWERS_OF_TEN = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

/** The double nearest to `scaled / 10^scale` (dividing two exact doubles rounds once, correctly). */
export function decimalNumber(scaled: number | bigint, scale: number): number {
  if (typeof scaled === 'number' && scale < EXACT_POWERS_OF_TEN.length) {
    return scaled / EXACT_POWERS_OF_TEN[scale]!;
  }
  return Number(decimalText(scaled, scale));
}

/** Every decimal of up to 15 significant digits reads back from its nearest double unchanged. */
const ALWAYS_EXACT = 1e15;
const ALWAYS_EXACT_BIG = 1_000_000_000_000_000n;

/**
 * JSON form of a DECIMAL: the nearest double while that reads back as the same decimal, else the
 * exact decimal text, as for integers beyond 2⁵³ (a JSON reader would otherwise get another value).
 */
export function jsonDecimal(scaled: number | bigint, scale: number): number | string {
  const number = decimalNumber(scaled, scale);
  const small =
    typeof scaled === 'number'
      ? Math.abs(scaled) < ALWAYS_EXACT
      : scaled > -ALWAYS_EXACT_BIG && scaled < ALWAYS_EXACT_BIG;
  return small || readsBackAs(number, BigInt(scaled), scale) ? number : decimalText(scaled, scale);
}

/** Whether the shortest text of `number` (what JSON carries) is exactly `scaled / 10^scale`. */
function readsBackAs(number: number, scaled: bigint, scale: number): boolean {
  if (!Number.isFinite(number)) return false;
  const [mantissa = '', exponent = '0'] = String(number).split('e');
  const [whole = '', fraction = ''] = mantissa.split('.');
  const digits = BigInt(whole + fraction);
  const shift = Number(exponent) - fraction.length + scale;
  return shift >= 0 ? digits * 10n ** BigInt(shift) === scaled : digits === scaled * 10n ** BigInt(-shift);
}
