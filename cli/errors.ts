/**
 * The failures the command line expects, and how each is shown: one `error:` line (or a short list)
 * on stderr and an exit code, never a stack trace. 2 means the command was used wrongly; 1 means it
 * ran and failed (the server refused, the file is bad, the server could not be reached).
 */
import { AuthenticationError, WeirError } from '../sdk/index.js';

/** Wrong use of the command line: a missing option, a value that cannot be right (exit 2). */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A failure the command line detects itself: a bad file, a stopped import, an invalid token (exit 1). */
export class CliError extends Error {
  override name = 'CliError';

  /** `details` are printed under the message, one per line. */
  constructor(
    message: string,
    readonly details: readonly string[] = [],
  ) {
    super(message);
  }
}

export interface Report {
  text: string;
  exitCode: number;
}

/** The server's message and code (or the SDK's, when no answer came) and the HTTP status. */
export function serverErrorText(error: WeirError): string {
  const status = error.status === undefined ? '' : `, HTTP ${error.status}`;
  return `${error.message} (${error.code}${status})`;
}

/** What to print for an error and the exit code; `tokenSource` says where a refused token came from. */
export function describeError(error: unknown, tokenSource?: string): Report {
  if (error instanceof UsageError) return { text: `error: ${error.message}\n`, exitCode: 2 };
  if (error instanceof CliError) {
    const details = error.details.map((line) => `  ${line}\n`).join('');
    return { text: `error: ${error.message}\n${details}`, exitCode: 1 };
  }
  if (error instanceof WeirError) {
    const hint =
      error instanceof AuthenticationError && tokenSource ? `hint: the token came from ${tokenSource}\n` : '';
    return { text: `error: ${serverErrorText(error)}\n${hint}`, exitCode: 1 };
  }
  // Anything else is a bug: its stack is what a report of it needs.
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return { text: `unexpected error: ${text}\n`, exitCode: 1 };
}
