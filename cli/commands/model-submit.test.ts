import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CloudApi } from '../../client/cloud-api.ts';
import {
  call,
  openTestCloud,
  seedNetwork,
  startRecordingProxy,
  type TestCloud,
  testManifest,
  testOnnxOfSize,
  useLocalAws,
  withAdapters,
} from '../../functions/test-fixtures.ts';
import { createS3BlobStore } from '../../infra/blob-store-s3.ts';
import { submitModel } from './network.ts';

/**
 * `cairn model submit` (submitModel) against a real cloud over HTTP: by presigned PUT where the cloud's models
 * live in a bucket (fauxqs, behind a recording proxy), by multipart where the cloud keeps them itself.
 */

const local = useLocalAws();

let embedded: TestCloud;
let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
let dir: string;
beforeEach(async () => {
  embedded = await openTestCloud();
  const prefix = `${randomBytes(4).toString('hex')}/`;
  cloud = withAdapters(embedded, {
    blobs: createS3BlobStore({ client: local.s3, bucket: local.aws.bucket, prefix }),
  });
  net = await seedNetwork(cloud);
  dir = mkdtempSync(join(tmpdir(), 'cairn-submit-'));
});
afterEach(() => {
  embedded.close();
  rmSync(dir, { recursive: true, force: true });
});

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('cairn model submit on S3 (submitModel over HTTP)', () => {
  it('sends a model larger than Lambda’s 6 MB by presigned PUT, past the API; an agent downloads it intact', async () => {
    const server = serve({ fetch: cloud.app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    const api = await startRecordingProxy(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      const onnx = testOnnxOfSize(7 * 1024 * 1024);
      writeFileSync(join(dir, 'model.onnx'), onnx);
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(testManifest({ version: '3.0.0' })));
      const sent: string[] = [];
      const vendor = new CloudApi(api.url, net.acmeToken, {
        request: async (r) => sent.push(`${r.method} ${r.url} ${r.body?.byteLength ?? 0}`),
        response: async () => {},
      });
      local.aws.s3Requests.length = 0;
      const t0 = performance.now();
      const r = await submitModel(vendor, join(dir, 'manifest.json'), join(dir, 'model.onnx'));
      const ms = performance.now() - t0;
      expect(r).toMatchObject({
        modelId: expect.stringMatching(/^mdl_/),
        sha256: sha256(onnx),
        signingKeyId: null,
      });

      // The API saw two small JSON bodies, never the model; the bucket got one presigned PUT of all of it,
      // without the API token. The sent-log keeps the presigned query out.
      const body = (r: { headers: Record<string, unknown> }) => Number(r.headers['content-length'] ?? 0);
      expect(api.requests.map((q) => `${q.method} ${q.url.split('/complete')[0]}`)).toEqual([
        'POST /v1/models/uploads',
        expect.stringMatching(/^POST \/v1\/models\/uploads\/upl_[0-9a-f]{32}$/),
      ]);
      expect(Math.max(...api.requests.map(body))).toBeLessThan(4096);
      // (The cloud's own server-side copies into place are PUTs too, with a copy source and no body.)
      const copies = local.aws.s3Requests.filter((q) => q.method === 'PUT' && q.headers['x-amz-copy-source']);
      expect(copies.map(body)).toEqual([0, 0]);
      const puts = local.aws.s3Requests.filter((q) => q.method === 'PUT' && !q.headers['x-amz-copy-source']);
      expect(puts).toHaveLength(1);
      expect(body(puts[0]!)).toBe(onnx.byteLength);
      expect(puts[0]!.headers.authorization).toBeUndefined();
      expect(puts[0]!.url).toContain('X-Amz-Signature=');
      expect(sent[1]?.endsWith(` ${onnx.byteLength}`)).toBe(true);
      expect(sent[1]).toMatch(
        /^PUT http:\/\/127\.0\.0\.1:\d+\/cairn-artifacts\/[0-9a-f]{8}\/uploads\/upl_[0-9a-f]{32}\.onnx\?… \d+$/,
      );

      // A site with a job for it downloads it by presigned GET and gets the same bytes.
      const campaign = await call(cloud, 'POST', '/v1/campaigns', {
        token: net.northToken,
        json: { name: 'Big model', modelIds: [r.modelId], siteIds: ['site-a'] },
      });
      expect(campaign.status).toBe(201);
      const agent = new CloudApi(api.url, net.siteA.token);
      const downloaded = await agent.bytes(`/v1/models/${r.modelId}/onnx`);
      expect(sha256(downloaded)).toBe(sha256(onnx));
      console.info(`direct upload of 7 MiB through submitModel: ${ms.toFixed(0)} ms`);
    } finally {
      await api.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('falls back to the multipart body on a cloud that keeps models itself', async () => {
    const server = serve({ fetch: embedded.app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      writeFileSync(join(dir, 'model.onnx'), testOnnxOfSize(2000));
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify(testManifest({ version: '3.1.0' })));
      const sent: string[] = [];
      const vendor = new CloudApi(base, net.acmeToken, {
        request: async (r) => sent.push(`${r.method} ${r.url.slice(base.length)}`),
        response: async () => {},
      });
      const r = await submitModel(vendor, join(dir, 'manifest.json'), join(dir, 'model.onnx'));
      expect(r.modelId).toMatch(/^mdl_/);
      expect(sent).toEqual(['POST /v1/models/uploads', 'POST /v1/models']);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
