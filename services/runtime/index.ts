export { createLogger } from './logger.js';
export { loadConfigOrReport, type RunOptions, runServer } from './run.js';
export { type Role, type RunningServer, startServer } from './server.js';
