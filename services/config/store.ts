import { join } from 'node:path';
import type { ObjectStoreConfig } from '../../catalog/store/index.js';
import type { WeirConfig } from './schema.js';

/** The object store the config selects; the local store lives in `<dataDir>/objects`. */
export function objectStoreConfig(config: WeirConfig): ObjectStoreConfig {
  if (config.storage === 'local') return { kind: 'local', root: join(config.dataDir, 'objects') };
  const { bucket, prefix, region, endpoint, forcePathStyle, accessKeyId, secretAccessKey } = config.s3;
  // The schema refuses storage=s3 without a bucket; this guards callers that build configs by hand.
  if (!bucket) throw new Error('s3.bucket is required when storage is s3');
  return {
    kind: 's3',
    bucket,
    region,
    forcePathStyle,
    ...(prefix ? { prefix } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(accessKeyId ? { accessKeyId } : {}),
    ...(secretAccessKey ? { secretAccessKey } : {}),
  };
}
