export { errorInfo, startTaskWorkers, type TaskWorkers, type TaskWorkersOptions } from './runtime/index.js';
export { executeTask, openWorkerDuckDB, type TaskContext } from './tasks/index.js';
