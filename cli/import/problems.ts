/**
 * What is wrong with a file, found while validating it. The first few problems are kept word for
 * word and the rest counted, so a file with a million bad rows says so without printing them all.
 */
import { CliError } from '../errors.js';

const KEPT = 20;

export class Problems {
  readonly kept: string[] = [];
  count = 0;

  add(message: string): void {
    this.count++;
    if (this.kept.length < KEPT) this.kept.push(message);
  }

  get any(): boolean {
    return this.count > 0;
  }

  /** The error that stops an import before it sends anything. */
  error(file: string): CliError {
    const more = this.count > this.kept.length ? [`… and ${this.count - this.kept.length} more`] : [];
    const plural = this.count === 1 ? 'problem' : 'problems';
    return new CliError(`${file}: ${this.count} ${plural}; nothing was imported`, [...this.kept, ...more]);
  }
}
