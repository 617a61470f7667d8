/**
 * A deployment is the processes sharing one object store. Its id is created once, by the first
 * process to ask, with put-if-absent under `_system/`; every process (the winner too) reads back
 * what is stored, so all of them name the same deployment whatever their paths or hosts.
 */
import { randomUUID } from 'node:crypto';
import { systemKeys } from './paths.js';
import type { ObjectStore } from './store/index.js';

interface StoredDeployment {
  format: 1;
  id: string;
  createdAt: string;
}

export async function deploymentIdOf(store: ObjectStore): Promise<string> {
  const key = systemKeys.deployment;
  const fresh: StoredDeployment = { format: 1, id: randomUUID(), createdAt: new Date().toISOString() };
  await store.putIfAbsent(key, Buffer.from(JSON.stringify(fresh)));
  const stored = JSON.parse(Buffer.from(await store.get(key)).toString('utf8')) as Partial<StoredDeployment>;
  if (stored.format !== 1 || typeof stored.id !== 'string' || stored.id === '')
    throw new Error(`${key} holds no deployment id; delete it to have a new one created`);
  return stored.id;
}
