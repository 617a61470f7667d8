/** The browser console's server side (DESIGN.md §7): sessions of signed file URLs, and serving them. */
export { type SignedFile, SignedFiles } from './files.js';
export { parseRange, type RangeChoice } from './range.js';
export {
  type BrowserSession,
  BrowserSessions,
  type BrowserSessionsOptions,
  type SessionFile,
  type SessionRequest,
  type SessionTable,
  type UrlLifetimes,
} from './session.js';
