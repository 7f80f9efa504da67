import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LambdaEvent } from 'hono/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../infra/database.ts';
import { issueApiToken } from './api/issue-token.ts';

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
