import { type DestinationStream, type Logger, pino } from 'pino';
import type { WeirConfig } from '../config/index.js';

/** Structured JSON logs on stdout; credentials in request headers never reach them. */
export function createLogger(
  level: WeirConfig['logLevel'],
  role: string,
  destination: DestinationStream = pino.destination(1),
): Logger {
  return pino(
    {
      name: 'weir',
      level,
      base: { role, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
