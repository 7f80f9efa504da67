import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestCloud, seedNetwork, type TestCloud } from '../functions/test-fixtures.ts';
import { CloudAnswerInvalid, CloudApi, CloudError, CloudRefusal } from './cloud-api.ts';
import { UserError } from './errors.ts';
import { responseSchemaOf } from './responses.ts';

type Served = { url: string; close: () => Promise<void> };

async function serveApp(fetch: (req: Request) => Response | Promise<Response>): Promise<Served> {
  const server = serve({ fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
let served: Served;
beforeAll(async () => {
  cloud = await openTestCloud();
  net = await seedNetwork(cloud);
  served = await serveApp(cloud.app.fetch);
});
afterAll(async () => {
  await served.close();
  cloud.close();
});

describe('the cloud API client parses every answer with its route schema', () => {
  it('answers of the real cloud parse, typed by method and path', async () => {
    const admin = new CloudApi(served.url, cloud.adminToken);
    const { regions } = await admin.json('GET', '/v1/regions');
    expect(regions.map((r) => r.id)).toEqual(['north', 'south']);
    const { campaigns } = await admin.json('GET', '/v1/campaigns');
    const campaignId = campaigns[0]!.campaignId;
    const status = await admin.json('GET', `/v1/campaigns/${campaignId}/status`);
    expect(status.jobs.map((j) => j.state)).toContain('pending');
    const { models } = await admin.json('GET', '/v1/models');
    expect(models.map((m) => m.vendor).sort()).toEqual(['acme', 'globex']);
    const { keys } = await admin.json('GET', '/v1/sites/site-a/keys');
    expect(keys.map((k) => k.keyId)).toEqual([net.siteA.keyId]);
    const { refusals } = await admin.json('GET', '/v1/report-refusals?since=2026-01-01');
    expect(refusals).toEqual([]);
    const comparison = await admin.json('GET', `/v1/campaigns/${campaignId}/comparison`);
    expect(comparison.models.length).toBe(2);
    const site = new CloudApi(served.url, net.siteA.token);
    expect((await site.json('GET', '/v1/jobs')).jobs.length).toBeGreaterThan(0);
    expect((await site.json('GET', '/v1/health')).ok).toBe(true);
  });

  it('every JSON route the cloud serves has a response schema (the model bytes are no JSON)', () => {
    const routes = cloud.app.routes.filter((r) => r.method !== 'ALL' && r.path.startsWith('/v1/'));
    expect(routes.length).toBeGreaterThan(30);
    const missing = routes
      .filter((r) => r.path !== '/v1/models/:id/onnx')
      .filter((r) => !responseSchemaOf(r.method, new URL(r.path.replace(/:[A-Za-z]+/g, 'x'), served.url)))
      .map((r) => `${r.method} ${r.path}`);
    expect(missing).toEqual([]);
  });

  it('an answer of another shape is CloudAnswerInvalid, naming the route and field; a refusal is CloudRefusal', async () => {
    const other = await serveApp(
      new Hono().get('/v1/regions', (c) => c.json({ regions: [{ id: 7 }] })).fetch,
    );
    try {
      const err = await new CloudApi(other.url, 't').json('GET', '/v1/regions').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CloudAnswerInvalid);
      expect((err as Error).message).toMatch(/GET \/v1\/regions .*regions\.0\.id/);
    } finally {
      await other.close();
    }
    const refused = await new CloudApi(served.url, 'cairn_bogus')
      .json('GET', '/v1/regions')
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CloudRefusal);
    // Library errors: the app, not the client, decides they are a user's one line.
    expect(refused).toBeInstanceOf(CloudError);
    expect(refused).not.toBeInstanceOf(UserError);
  });
});
