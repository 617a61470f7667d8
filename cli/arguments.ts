/** Parsers of option values, for commander: a bad value is a usage error (exit 2) naming the option. */
import { InvalidArgumentError } from 'commander';

/** A whole number from 1 to `max`. */
export function wholeNumber(max = Number.MAX_SAFE_INTEGER) {
  return (text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1 || n > max) {
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER ? 'a whole number of at least 1' : `a whole number from 1 to ${max}`,
      );
    }
    return n;
  };
}

/** A comma-separated list, without empty items. */
export function commaList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
