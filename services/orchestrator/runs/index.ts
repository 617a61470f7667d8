export {
  type LineageEdge,
  lineageOf,
  RunEventLog,
  type RunPlannedPayload,
  type RunStatus,
  type TaskStatus,
} from './events.js';
export { type AttemptView, foldRun, type RunView, type TaskView } from './fold.js';
export { type RunFilter, RunHistory, type RunHistoryPage, runDatabase } from './history.js';
export { type LineageGraph, type LineageLevel, type LineageQuery, walkLineage } from './lineage.js';
