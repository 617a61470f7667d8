/**
 * vitest globalSetup: one S3-compatible server for the whole run, handed to test workers via
 * `provide('s3Server')`. A server that cannot start must not stop the tests that need no S3,
 * so the failure is provided instead and `s3EndpointForTests()` throws it where S3 is needed.
 */
import type { TestProject } from 'vitest/node';
import { type S3Server, startS3Server } from './s3.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let server: S3Server | undefined;
  try {
    server = await startS3Server();
    project.provide('s3Server', { endpoint: server.endpoint });
  } catch (error) {
    project.provide('s3Server', { error: (error as Error).message });
  }
  return async () => {
    await server?.stop();
  };
}
