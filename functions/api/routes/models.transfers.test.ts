import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { CloudLimits } from '../../deps.ts';
import {
  call,
  fakeOnnx,
  modelUploadForm,
  openTestCloud,
  seedNetwork,
  type TestCloud,
  testManifest,
  testOnnxOfSize,
} from '../../test-fixtures.ts';

/**
 * Model transfers through the API: streamed both ways, at most N at once (503 transfers-busy with Retry-After
 * beyond), and within the vendor's storage quota.
 */

let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
async function open(limits: Partial<CloudLimits>) {
  cloud = await openTestCloud({ limits });
  net = await seedNetwork(cloud);
}
afterEach(() => cloud?.close());

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A multipart upload that holds its slot: the handler is reading the body, which comes when `finish` is called. */
async function slowUpload(version: string) {
  const encoded = new Request('http://x/', {
    method: 'POST',
    body: modelUploadForm(testManifest({ version }), fakeOnnx(version)),
  });
  const contentType = encoded.headers.get('content-type')!;
  const body = new Uint8Array(await encoded.arrayBuffer());
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  let reading!: () => void;
  const started = new Promise<void>((resolve) => {
    reading = resolve;
  });
  let sent = false;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!sent) {
        sent = true;
        reading();
        await finished;
        controller.enqueue(body);
        controller.close();
      }
    },
  });
  const response = cloud.app.request('/v1/models', {
    method: 'POST',
    headers: {
      authorization: `Bearer ${net.acmeToken}`,
      'content-type': contentType,
    },
    body: stream,
    duplex: 'half',
  } as RequestInit);
  await started;
  return { finish, response };
}

describe('model transfers', () => {
  it('a model download is the stored bytes, with their length and sha256', async () => {
    await open({});
    const onnx = testOnnxOfSize(300_000);
    const up = await call(cloud, 'POST', '/v1/models', {
      token: net.acmeToken,
      body: modelUploadForm(testManifest({ version: '2.0.0' }), onnx),
    });
    expect(up.status).toBe(201);
    expect(up.body.sha256).toBe(sha256(onnx));
    const res = await cloud.app.request(`/v1/models/${up.body.modelId}/onnx`, {
      headers: { authorization: `Bearer ${net.acmeToken}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(onnx.byteLength));
    expect(res.headers.get('x-cairn-sha256')).toBe(sha256(onnx));
    expect(sha256(new Uint8Array(await res.arrayBuffer()))).toBe(sha256(onnx));
  });

  it('uploads past the limit in flight → 503 transfers-busy with Retry-After; a slot frees when one ends', async () => {
    await open({ concurrentModelUploads: 1 });
    const first = await slowUpload('2.0.0');
    const second = await call(cloud, 'POST', '/v1/models', {
      token: net.acmeToken,
      body: modelUploadForm(testManifest({ version: '2.1.0' }), fakeOnnx('2.1.0')),
    });
    expect({ status: second.status, code: second.body.error.code }).toEqual({
      status: 503,
      code: 'transfers-busy',
    });
    expect(second.res.headers.get('retry-after')).toBe('5');
    first.finish();
    expect((await first.response).status).toBe(201);
    const third = await call(cloud, 'POST', '/v1/models', {
      token: net.acmeToken,
      body: modelUploadForm(testManifest({ version: '2.1.0' }), fakeOnnx('2.1.0')),
    });
    expect(third.status).toBe(201);
  });

  it('downloads past the limit in flight → 503; the slot frees when the body is read or dropped', async () => {
    await open({ concurrentModelDownloads: 1 });
    const path = `/v1/models/${net.acmeModel.modelId}/onnx`;
    const get = () => cloud.app.request(path, { headers: { authorization: `Bearer ${net.acmeToken}` } });
    const reading = await get();
    expect(reading.status).toBe(200);
    const busy = await get();
    expect(busy.status).toBe(503);
    expect(busy.headers.get('retry-after')).toBe('5');
    await reading.arrayBuffer();
    const dropped = await get();
    expect(dropped.status).toBe(200);
    await dropped.body!.cancel();
    expect((await get()).status).toBe(200);
  });

  it("a model past the vendor's storage quota → 413 vendor-storage-quota-exceeded naming used and limit; nothing stored", async () => {
    await open({ vendorStorageBytes: 10_000 });
    const used = (await cloud.deps.blobs.size(`models/${net.acmeModel.sha256}.onnx`))!;
    const r = await call(cloud, 'POST', '/v1/models', {
      token: net.acmeToken,
      body: modelUploadForm(testManifest({ version: '2.0.0' }), testOnnxOfSize(20_000)),
    });
    expect({ status: r.status, code: r.body.error.code }).toEqual({
      status: 413,
      code: 'vendor-storage-quota-exceeded',
    });
    expect(r.body.error.message).toContain(`use ${used} bytes of its 10000-byte storage quota`);
    const list = await call(cloud, 'GET', '/v1/models', { token: net.acmeToken });
    expect(list.body.models).toHaveLength(1);
    // Another vendor's quota is its own; a model that fits is taken.
    const small = await call(cloud, 'POST', '/v1/models', {
      token: net.acmeToken,
      body: modelUploadForm(testManifest({ version: '2.0.0' }), fakeOnnx('small')),
    });
    expect(small.status).toBe(201);
  });
});
