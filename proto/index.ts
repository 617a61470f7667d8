/**
 * The wire contracts of the orchestrator (`proto/weir/v1/*.proto`), loaded at run time so the
 * .proto files stay the one source of truth. Objects cross BullMQ as JSON; `parse*` checks
 * them against the message type and normalises them (camelCase, defaults filled, 64-bit
 * integers as numbers), and throws ContractError naming the bad field.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { WeirError } from '../catalog/index.js';

export class ContractError extends WeirError {
  constructor(message: string) {
    super('CONTRACT_VIOLATION', message, 400);
  }
}

export interface DispatchEnvelope {
  tenant: string;
  runId: string;
  planId: string;
  taskId: string;
  taskKey: string;
  attempt: number;
  attemptId: string;
  kind: string;
  catalogVersion: number;
  inputsJson: string;
  deadlineMs: number;
  scratchPrefix: string;
}

export interface FileRef {
  path: string;
  database: string;
  table: string;
  partition: string;
  rows: number;
  bytes: number;
  sha256: string;
}

export interface TaskRead {
  database: string;
  table: string;
  partitions: string[];
  files: FileRef[];
  catalogVersion: number;
}

export interface TaskWrote {
  files: FileRef[];
  removed: FileRef[];
  commitVersion: number;
  committed: boolean;
  deleted: string[];
}

export interface TaskResult {
  taskId: string;
  attemptId: string;
  kind: string;
  reads: TaskRead[];
  wrote: TaskWrote;
  outputsChecksum: string;
  summaryJson: string;
}

const root = new protobuf.Root();
for (const file of ['dispatch.proto', 'task_result.proto']) {
  root.loadSync(fileURLToPath(new URL(`./weir/v1/${file}`, import.meta.url)), { keepCase: false });
}
root.resolveAll();

const TO_OBJECT: protobuf.IConversionOptions = { longs: Number, enums: String, defaults: true, arrays: true };

function parseWith<T>(typeName: string, value: unknown): T {
  const type = root.lookupType(typeName);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ContractError(`${typeName} must be an object`);
  }
  const unknown = Object.keys(value).find((key) => !type.fields[key]);
  if (unknown !== undefined) throw new ContractError(`${typeName} has no field ${unknown}`);
  const problem = type.verify(value);
  if (problem) throw new ContractError(`${typeName}: ${problem}`);
  return type.toObject(type.fromObject(value), TO_OBJECT) as T;
}

export function parseDispatchEnvelope(value: unknown): DispatchEnvelope {
  const envelope = parseWith<DispatchEnvelope>('weir.v1.DispatchEnvelope', value);
  for (const field of ['tenant', 'runId', 'planId', 'taskId', 'taskKey', 'attemptId', 'kind'] as const) {
    if (envelope[field] === '') throw new ContractError(`weir.v1.DispatchEnvelope: ${field} is required`);
  }
  if (envelope.attempt < 1) throw new ContractError('weir.v1.DispatchEnvelope: attempt starts at 1');
  return envelope;
}

export function parseTaskResult(value: unknown): TaskResult {
  const result = parseWith<TaskResult>('weir.v1.TaskResult', value);
  if (result.taskId === '' || result.kind === '')
    throw new ContractError('weir.v1.TaskResult: taskId and kind are required');
  return result;
}
