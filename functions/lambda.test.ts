import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { serve } from '@hono/node-server';
import type { LambdaEvent } from 'hono/aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CloudApi } from '../client/cloud-api.ts';
import { issueApiToken } from './api/issue-token.ts';
import { createCloudApp } from './app.ts';
import { openDatabase } from './db/database.ts';
import { REPORTS_TOPIC } from './deps.ts';
import { depsFromEnv, LAMBDA_WITHOUT_DATABASE } from './deps-from-env.ts';
import { fakeOnnx, modelUploadForm, startLocalAws, testManifest } from './test-fixtures.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-lambda-'));
  process.env.CAIRN_DATA_DIR = dir;
});
afterAll(() => {
  delete process.env.CAIRN_DATA_DIR;
  rmSync(dir, { recursive: true, force: true });
});

type APIGatewayProxyEventV2 = Extract<LambdaEvent, { rawPath: string }>;

/** A minimal API Gateway HTTP API (payload v2) event, as Lambda would deliver it. */
function httpEvent(
  method: string,
  path: string,
  opts: { token?: string; json?: unknown } = {},
): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = { host: 'api.example.test' };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.json !== undefined) headers['content-type'] = 'application/json';
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers,
    body: opts.json === undefined ? null : JSON.stringify(opts.json),
    isBase64Encoded: false,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.example.test',
      domainPrefix: 'api',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'vitest' },
      requestId: 'req-1',
      routeKey: '$default',
      stage: '$default',
      time: '27/Nov/2026:10:00:00 +0000',
      timeEpoch: 1_795_600_000_000,
      authentication: null,
      authorizer: {},
    },
  };
}

describe('the Lambda entry', () => {
  it('answers health and authenticated routes on API Gateway v2 events', async () => {
    const { handler } = await import('./lambda.ts');
    const health = await handler(httpEvent('GET', '/v1/health'));
    expect(health.statusCode).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ ok: true });

    const db = await openDatabase(`file:${join(dir, 'cairn.db')}`);
    const admin = await issueApiToken(db, new Date(), { role: 'admin', label: 'lambda test' });
    db.$client.close();

    const created = await handler(
      httpEvent('POST', '/v1/regions', { token: admin.token, json: { id: 'north', name: 'North' } }),
    );
    expect(created.statusCode).toBe(201);
    const listed = await handler(httpEvent('GET', '/v1/regions', { token: admin.token }));
    expect(listed.statusCode).toBe(200);
    expect(JSON.parse(listed.body).regions.map((r: { id: string }) => r.id)).toEqual(['north']);
    const refused = await handler(httpEvent('GET', '/v1/regions'));
    expect(refused.statusCode).toBe(401);
    expect(JSON.parse(refused.body).error.code).toBe('missing-token');
  });
});

describe('the Lambda entry without a database', () => {
  it('refuses to start on Lambda without CAIRN_DATABASE_URL, rather than keep a database in its /tmp', async () => {
    const data = mkdtempSync(join(tmpdir(), 'cairn-lambda-nodb-'));
    const saved = { name: process.env.AWS_LAMBDA_FUNCTION_NAME, url: process.env.CAIRN_DATABASE_URL };
    try {
      for (const url of [undefined, '']) {
        const env = {
          AWS_LAMBDA_FUNCTION_NAME: 'cairn-ci-Api',
          CAIRN_DATA_DIR: data,
          CAIRN_DATABASE_URL: url,
        };
        await expect(depsFromEnv(env)).rejects.toThrow(LAMBDA_WITHOUT_DATABASE);
      }
      expect(existsSync(join(data, 'cairn.db'))).toBe(false);
      // Nor with the database but a folder for models or a table for reports, which the container would lose.
      const withDb = {
        AWS_LAMBDA_FUNCTION_NAME: 'cairn-ci-Api',
        CAIRN_DATA_DIR: data,
        CAIRN_DATABASE_URL: `file:${join(data, 'shared.db')}`,
      };
      await expect(depsFromEnv(withDb)).rejects.toThrow(
        /^CAIRN_ARTIFACTS_BUCKET and CAIRN_REPORTS_QUEUE_URL not set: on Lambda/,
      );
      await expect(depsFromEnv({ ...withDb, CAIRN_ARTIFACTS_BUCKET: 'b' })).rejects.toThrow(
        /^CAIRN_REPORTS_QUEUE_URL not set/,
      );
      expect(existsSync(join(data, 'shared.db'))).toBe(false);

      // The function itself: its cold start fails with that one message.
      process.env.AWS_LAMBDA_FUNCTION_NAME = 'cairn-ci-Api';
      delete process.env.CAIRN_DATABASE_URL;
      vi.resetModules();
      await expect(import('./lambda.ts')).rejects.toThrow(/^CAIRN_DATABASE_URL is not set: on Lambda/);
      const ingest = await import('./ingest/lambda.ts');
      await expect(ingest.handler({ Records: [] })).rejects.toThrow(LAMBDA_WITHOUT_DATABASE);

      // Off Lambda the file in CAIRN_DATA_DIR is still the default (the embedded cloud, `cairn cloud serve`).
      const deps = await depsFromEnv({ CAIRN_DATA_DIR: data });
      deps.db.$client.close();
      expect(existsSync(join(data, 'cairn.db'))).toBe(true);
    } finally {
      for (const [key, value] of [
        ['AWS_LAMBDA_FUNCTION_NAME', saved.name],
        ['CAIRN_DATABASE_URL', saved.url],
      ] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      rmSync(data, { recursive: true, force: true });
    }
  });
});

describe('the Lambda entry on S3 and SQS', () => {
  let aws: Awaited<ReturnType<typeof startLocalAws>>;
  let awsDir: string;
  const saved = { ...process.env };
  beforeAll(async () => {
    aws = await startLocalAws();
    awsDir = mkdtempSync(join(tmpdir(), 'cairn-lambda-aws-'));
    Object.assign(process.env, aws.env, { CAIRN_DATA_DIR: awsDir });
  });
  afterAll(async () => {
    process.env = saved;
    await aws?.stop();
    rmSync(awsDir, { recursive: true, force: true });
  });

  /** A multipart model upload as API Gateway delivers it: the body base64-encoded. */
  async function uploadEvent(token: string, onnx: Uint8Array): Promise<APIGatewayProxyEventV2> {
    const req = new Request('http://x/', { method: 'POST', body: modelUploadForm(testManifest(), onnx) });
    const event = httpEvent('POST', '/v1/models', { token });
    event.headers['content-type'] = req.headers.get('content-type')!;
    event.body = Buffer.from(await req.arrayBuffer()).toString('base64');
    event.isBase64Encoded = true;
    return event;
  }

  it('keeps models in the bucket and redirects downloads to a presigned URL', async () => {
    vi.resetModules();
    const { handler } = await import('./lambda.ts');
    const db = await openDatabase(`file:${join(awsDir, 'cairn.db')}`);
    const admin = await issueApiToken(db, new Date(), { role: 'admin', label: 'lambda aws test' });
    db.$client.close();
    expect(
      (
        await handler(
          httpEvent('POST', '/v1/vendors', { token: admin.token, json: { id: 'acme', name: 'Acme' } }),
        )
      ).statusCode,
    ).toBe(201);

    const onnx = fakeOnnx('on s3');
    const uploaded = await handler(await uploadEvent(admin.token, onnx));
    expect(uploaded.statusCode).toBe(201);
    const { modelId, sha256 } = JSON.parse(uploaded.body);
    const s3 = aws.s3();
    const stored = await s3.send(new GetObjectCommand({ Bucket: aws.bucket, Key: `models/${sha256}.onnx` }));
    expect(await stored.Body!.transformToByteArray()).toEqual(onnx);
    s3.destroy();

    const download = await handler(httpEvent('GET', `/v1/models/${modelId}/onnx`, { token: admin.token }));
    expect(download.statusCode).toBe(302);
    expect(download.headers?.['x-cairn-sha256']).toBe(sha256);
    const location = new URL(String(download.headers?.location));
    expect(location.origin).toBe(new URL(aws.env.AWS_ENDPOINT_URL_S3).origin);
    expect(Number(location.searchParams.get('X-Amz-Expires'))).toBeLessThanOrEqual(300);
    expect(new Uint8Array(await (await fetch(location)).arrayBuffer())).toEqual(onnx);
  });

  it('builds its queue on SQS from the environment, and refuses a dead-letter queue alone', async () => {
    const deps = await depsFromEnv(process.env);
    await deps.queue.send(REPORTS_TOPIC, 'via sqs');
    expect(aws.server.inspectQueue('cairn-reports')?.messages.ready.map((m) => m.body)).toEqual(['via sqs']);
    deps.db.$client.close();
    await expect(depsFromEnv({ CAIRN_DATA_DIR: awsDir, CAIRN_REPORTS_DLQ_URL: aws.dlqUrl })).rejects.toThrow(
      'CAIRN_REPORTS_DLQ_URL is set without CAIRN_REPORTS_QUEUE_URL',
    );
  });

  it('lets an agent download a model through the API from the bucket, without its token reaching the bucket', async () => {
    const deps = await depsFromEnv(process.env);
    const server = serve({ fetch: createCloudApp(deps).fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const admin = await issueApiToken(deps.db, new Date(), { role: 'admin', label: 'agent download test' });
      const vendor = new CloudApi(base, admin.token);
      await vendor.json('POST', '/v1/vendors', { json: { id: 'globex', name: 'Globex' } });
      const onnx = fakeOnnx('for the agent');
      const manifest = testManifest({ vendor: 'globex', name: 'lung' });
      const { modelId, sha256 } = await vendor.json<{ modelId: string; sha256: string }>(
        'POST',
        '/v1/models',
        {
          form: modelUploadForm(manifest, onnx),
        },
      );

      const seen: string[] = [];
      const observe = {
        request: async (r: { method: string; url: string }) => seen.push(`${r.method} ${r.url}`),
        response: async () => {},
      };
      aws.s3Requests.length = 0;
      const api = new CloudApi(base, admin.token, observe);
      expect(await api.bytes(`/v1/models/${modelId}/onnx`)).toEqual(onnx);

      // The agent logs both requests it made (not the presigned query: it is a credential); the bucket saw
      // one GET, presigned and without the token.
      expect(seen).toEqual([
        `GET ${base}/v1/models/${modelId}/onnx`,
        `GET ${aws.env.AWS_ENDPOINT_URL_S3}/${aws.bucket}/models/${sha256}.onnx?…`,
      ]);
      const atBucket = aws.s3Requests.filter((r) => r.method === 'GET');
      expect(atBucket).toHaveLength(1);
      expect(atBucket[0]!.url).toContain('X-Amz-Signature=');
      expect(atBucket[0]!.headers.authorization).toBeUndefined();
    } finally {
      await new Promise((resolve) => server.close(resolve));
      deps.db.$client.close();
    }
  });
});
