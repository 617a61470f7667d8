/** Bounds on an answer's size, so one query cannot exhaust the API's memory or the client's patience. */
import { WeirError } from '../../../catalog/index.js';

export interface ResultLimits {
  readonly maxRows: number;
  readonly maxBytes: number;
}

export type ResultLimitName = keyof ResultLimits;

/** A result passed a limit: the client should ask for less. */
export class ResultTooLargeError extends WeirError {
  constructor(limit: ResultLimitName, value: number) {
    super(
      'RESULT_TOO_LARGE',
      `query result exceeds ${limit} (${value}); add LIMIT or narrow the time range`,
      413,
      { limit, value },
    );
  }
}

/** Counts an answer's rows and bytes as it is produced; throws once either passes its limit. */
export class ResultBudget {
  private rows = 0;
  private bytes = 0;

  constructor(private readonly limits: ResultLimits) {}

  addRows(count: number): void {
    this.rows += count;
    if (this.rows > this.limits.maxRows) throw new ResultTooLargeError('maxRows', this.limits.maxRows);
  }

  addBytes(count: number): void {
    this.bytes += count;
    if (this.bytes > this.limits.maxBytes) throw new ResultTooLargeError('maxBytes', this.limits.maxBytes);
  }
}
