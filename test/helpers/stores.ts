/** Both object-store backends for tests that must hold on each: local disk and S3 over HTTP (moto). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LocalObjectStore,
  type ObjectStore,
  type ObjectStoreConfig,
  S3ObjectStore,
} from '../../catalog/index.js';
import { createTestBucket, s3EndpointForTests } from './s3.js';

export interface TestBackend {
  name: 'local' | 's3';
  /** A fresh, empty store and the config that reopens it (for child processes). */
  create(): Promise<{ store: ObjectStore; config: ObjectStoreConfig; cleanup(): Promise<void> }>;
}

export const BACKENDS: TestBackend[] = [
  {
    name: 'local',
    async create() {
      const root = mkdtempSync(join(tmpdir(), 'weir-test-'));
      const store = new LocalObjectStore(root);
      return {
        store,
        config: { kind: 'local', root },
        cleanup: async () => {
          await store.close();
          rmSync(root, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 's3',
    async create() {
      const config = await createTestBucket(s3EndpointForTests());
      const store = new S3ObjectStore(config);
      return { store, config, cleanup: () => store.close() };
    },
  },
];
