/**
 * A run's tasks as `GET /api/v1/runs/:id` describes them (the SDK types them loosely): attempts
 * with their times, and for finished tasks what they read and wrote.
 */
import type { Run } from '../../../sdk/index.js';

export interface FileRef {
  readonly path: string;
  readonly database: string;
  readonly table: string;
  readonly partition: string;
  readonly rows: number;
  readonly bytes: number;
}

export interface TaskAttempt {
  readonly attempt: number;
  readonly status: string;
  readonly worker?: string;
  readonly queuedAt?: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly error?: { readonly code: string; readonly message: string };
}

export interface Task {
  readonly taskId: string;
  readonly taskKey: string;
  readonly kind: string;
  readonly dependsOn: readonly string[];
  readonly status: string;
  readonly attempts: readonly TaskAttempt[];
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly error?: { readonly code: string; readonly message: string };
  readonly result?: {
    readonly reads: readonly { readonly files: readonly FileRef[] }[];
    readonly wrote: { readonly files: readonly FileRef[]; readonly removed: readonly FileRef[] };
  };
}

export const tasksOf = (run: Run): readonly Task[] => (run.tasks ?? []) as unknown as Task[];
