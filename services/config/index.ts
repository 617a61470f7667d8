export { README_MARKERS, redactConfig, redactUrl, renderConfigTable } from './docs.js';
export { ConfigError, type LoadConfigOptions, loadConfig } from './load.js';
export { type ConfigOption, configOptions } from './options.js';
export { configSchema, LOG_LEVELS, type WeirConfig } from './schema.js';
export { objectStoreConfig } from './store.js';
