/**
 * The console over the S3 backend (moto over HTTP): the page reads Parquet straight from the
 * bucket through presigned URLs, cross-origin, under the bucket CORS rule ADR 0023 documents,
 * and answers as the server does.
 */
import { PutBucketCorsCommand, S3Client } from '@aws-sdk/client-s3';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { S3StoreConfig } from '../../catalog/store/index.js';
import type { WeirClient } from '../../sdk/index.js';
import { launchChromium, type TestBrowser } from '../helpers/browser.js';
import { assertConsoleBuilt } from '../helpers/console-build.js';
import { createTestBucket, removeTestBucket, s3EndpointForTests } from '../helpers/s3.js';
import { type SdkServer, startSdkServer } from '../sdk/server.js';
import { compareAnswers, DAY0, HOUR, iso, serverAnswer, writeFixture } from './console-fixture.js';
import { runInConsole, signIn } from './console-page.js';

let bucket: S3StoreConfig;
let server: SdkServer;
let client: WeirClient;
let chromium: TestBrowser;
let page: Page;
const requested: string[] = [];

/** The rule ADR 0023 tells operators to put on their bucket, for the console's origin. */
async function allowConsole(config: S3StoreConfig, origin: string): Promise<void> {
  const s3 = new S3Client({
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: config.accessKeyId!, secretAccessKey: config.secretAccessKey! },
  });
  try {
    await s3.send(
      new PutBucketCorsCommand({
        Bucket: config.bucket,
        CORSConfiguration: {
          CORSRules: [
            {
              AllowedOrigins: [origin],
              AllowedMethods: ['GET', 'HEAD'],
              AllowedHeaders: ['Range'],
              ExposeHeaders: ['Content-Range', 'Content-Length', 'Accept-Ranges', 'ETag'],
              MaxAgeSeconds: 3600,
            },
          ],
        },
      }),
    );
  } finally {
    s3.destroy();
  }
}

beforeAll(async () => {
  assertConsoleBuilt();
  bucket = await createTestBucket(s3EndpointForTests());
  [server, chromium] = await Promise.all([
    startSdkServer({
      WEIR_STORAGE: 's3',
      WEIR_S3_BUCKET: bucket.bucket,
      WEIR_S3_REGION: bucket.region!,
      WEIR_S3_ENDPOINT: bucket.endpoint!,
      WEIR_S3_FORCE_PATH_STYLE: 'true',
      WEIR_S3_ACCESS_KEY_ID: bucket.accessKeyId!,
      WEIR_S3_SECRET_ACCESS_KEY: bucket.secretAccessKey!,
    }),
    launchChromium(),
  ]);
  await allowConsole(bucket, new URL(server.url).origin);
  client = server.client();
  await writeFixture(client);
  page = await (await chromium.context()).newPage();
  page.on('request', (request) => requested.push(request.url()));
  await signIn(page, server.url, server.token);
}, 180_000);

afterAll(async () => {
  await chromium?.close();
  await server?.stop();
  if (bucket) await removeTestBucket(bucket);
});

describe('the console on the S3 backend', () => {
  it.each([
    [
      'a pruned aggregate',
      `SELECT host, avg(usage_user) AS u, count(*) AS n FROM cpu
      WHERE time >= '${iso(DAY0 + 7 * HOUR)}' AND time < '${iso(DAY0 + 9 * HOUR)}' GROUP BY host ORDER BY host`,
    ],
    [
      'a join across databases',
      `SELECT count(*) AS n, sum(m.used) AS used FROM cpu c JOIN infra.mem m
      ON c.host = m.host AND c.time = m.time WHERE c.time < '${iso(DAY0 + 2 * HOUR)}'`,
    ],
  ])('reads %s from presigned URLs, as the server answers it', async (_name, sql) => {
    const before = requested.length;
    const answer = await runInConsole(page, 'browser', sql);
    compareAnswers(answer, await serverAnswer(client, sql));
    const storage = new URL(bucket.endpoint!).origin;
    const reads = requested.slice(before).filter((url) => url.startsWith(`${storage}/`));
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((url) => url.includes('X-Amz-Signature='))).toBe(true);
    expect(answer.bytesFetched).toBeGreaterThan(0);
    const origins = new Set(requested.map((url) => new URL(url).origin));
    expect([...origins].sort()).toEqual([new URL(server.url).origin, storage].sort());
  });
});
