export { type ApiDeps, buildApp } from './app.js';
export { DOCS_PREFIX } from './docs.js';
export { type ErrorBody, errorBodySchema, mapError } from './errors.js';
export type { ReadinessCheck } from './routes/health.js';
