import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyModelSignature } from '../../edge-agent/model-signature.ts';
import {
  call,
  fakeOnnx,
  modelUploadForm,
  openTestCloud,
  refusal,
  seedNetwork,
  type TestCloud,
  testManifest,
} from '../../functions/test-fixtures.ts';
import { Job } from '../../schemas/job.ts';
import { ModelManifest } from '../../schemas/model-manifest.ts';
import { generateVendorKey, PRIVATE_KEY_FILE, readPublicKeyFile, signModel } from './model-signing.ts';

let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
let dir: string;
beforeEach(async () => {
  cloud = await openTestCloud();
  net = await seedNetwork(cloud);
  dir = mkdtempSync(join(tmpdir(), 'cairn-vendor-'));
});
afterEach(() => {
  cloud.close();
  rmSync(dir, { recursive: true, force: true });
});

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/** A vendor's model on disk, signed with `cairn model sign`'s function. */
function signedModel(version: string, keyDir = join(dir, 'keys')) {
  const manifest = testManifest({ version });
  const onnx = fakeOnnx(`acme ${version}`);
  const manifestPath = join(dir, `manifest-${version}.json`);
  const onnxPath = join(dir, `model-${version}.onnx`);
  writeFileSync(manifestPath, JSON.stringify(manifest));
  writeFileSync(onnxPath, onnx);
  const signature = signModel(manifestPath, onnxPath, join(keyDir, PRIVATE_KEY_FILE));
  return { manifest, onnx, signature };
}

function submit(manifest: unknown, onnx: Uint8Array, signature?: unknown, token = net.acmeToken) {
  const form = modelUploadForm(manifest, onnx);
  if (signature !== undefined) form.set('signature', JSON.stringify(signature));
  return call(cloud, 'POST', '/v1/models', { token, body: form });
}

async function registerKey(keyDir = join(dir, 'keys'), token = net.acmeToken) {
  const generated = generateVendorKey(keyDir);
  const { publicKey } = readPublicKeyFile(generated.publicKeyPath);
  const r = await call(cloud, 'POST', '/v1/vendors/acme/keys', { token, json: { publicKey } });
  expect(r.status).toBe(201);
  expect(r.body.keyId).toBe(generated.keyId);
  return generated;
}

describe('vendor model signing', () => {
  it('keygen writes the private key 0600 and refuses to overwrite it', () => {
    const k = generateVendorKey(join(dir, 'keys'));
    expect(statSync(k.privateKeyPath).mode & 0o777).toBe(0o600);
    expect(k.keyId).toMatch(/^vk_[0-9a-f]{32}$/);
    expect(() => generateVendorKey(join(dir, 'keys'))).toThrow(/refusing to overwrite/);
  });

  it('once a vendor has a key, unsigned, tampered and foreign-key submissions are refused', async () => {
    await registerKey();
    const { manifest, onnx, signature } = signedModel('2.0.0');
    expect(refusal(await submit(manifest, onnx))).toEqual({ status: 400, code: 'signature-required' });
    expect(refusal(await submit({ ...manifest, threshold: 0.1 }, onnx, signature))).toEqual({
      status: 400,
      code: 'bad-model-signature',
    });
    expect(refusal(await submit(manifest, fakeOnnx('swapped weights'), signature))).toEqual({
      status: 400,
      code: 'bad-model-signature',
    });
    expect(refusal(await submit(manifest, onnx, { ...signature, keyId: '../../etc/passwd' }))).toEqual({
      status: 400,
      code: 'invalid-signature',
    });
    const ok = await submit(manifest, onnx, signature);
    expect(ok.status).toBe(201);
    expect(ok.body.signingKeyId).toBe(signature.keyId);
  });

  it('a signature by an unregistered key → 400 unknown-vendor-key', async () => {
    await registerKey();
    generateVendorKey(join(dir, 'other'));
    const other = signedModel('3.0.0', join(dir, 'other'));
    expect(refusal(await submit(other.manifest, other.onnx, other.signature))).toEqual({
      status: 400,
      code: 'unknown-vendor-key',
    });
  });

  it('a stolen vendor token cannot register its own key once the vendor has one (an admin can)', async () => {
    await registerKey();
    const thief = generateVendorKey(join(dir, 'thief'));
    const r = await call(cloud, 'POST', '/v1/vendors/acme/keys', {
      token: net.acmeToken,
      json: { publicKey: thief.publicKey },
    });
    expect(refusal(r)).toEqual({ status: 403, code: 'forbidden' });
    const forged = signedModel('4.0.0', join(dir, 'thief'));
    expect(refusal(await submit(forged.manifest, forged.onnx, forged.signature))).toEqual({
      status: 400,
      code: 'unknown-vendor-key',
    });
    await registerKey(join(dir, 'second'), cloud.adminToken);
  });

  it('a stolen vendor token cannot revoke the keys and then submit unsigned', async () => {
    const { keyId } = await registerKey();
    const revoked = await call(cloud, 'POST', `/v1/vendors/acme/keys/${keyId}/revoke`, {
      token: net.acmeToken,
      json: {},
    });
    expect(revoked.status).toBe(200);
    expect(refusal(await submit(testManifest({ version: '5.0.0' }), fakeOnnx('unsigned')))).toEqual({
      status: 400,
      code: 'signature-required',
    });
  });

  it('another vendor can neither register nor list keys for acme (404, nothing learnt)', async () => {
    const generated = generateVendorKey(join(dir, 'keys'));
    const r = await call(cloud, 'POST', '/v1/vendors/acme/keys', {
      token: net.globexToken,
      json: { publicKey: generated.publicKey },
    });
    expect(refusal(r)).toEqual({ status: 404, code: 'vendor-not-found' });
    expect(JSON.stringify(r.body)).not.toContain('acme');
    expect(refusal(await call(cloud, 'GET', '/v1/vendors/acme/keys', { token: net.globexToken }))).toEqual({
      status: 404,
      code: 'vendor-not-found',
    });
  });

  it('the job carries the signature and key; the agent verifies it over the bytes it downloaded', async () => {
    await registerKey();
    const { manifest, onnx, signature } = signedModel('4.0.0');
    const model = await submit(manifest, onnx, signature);
    const campaign = await call(cloud, 'POST', '/v1/campaigns', {
      token: cloud.adminToken,
      json: {
        name: 'signed',
        modelIds: [model.body.modelId],
        siteIds: ['site-a'],
        requireSignedModels: true,
      },
    });
    expect(campaign.status).toBe(201);

    const jobs = await call(cloud, 'GET', '/v1/jobs', { token: net.siteA.token });
    const parsed = jobs.body.jobs.map((j: unknown) => Job.parse(j));
    const job = parsed.find((j: Job) => j.model.modelId === model.body.modelId)!;
    expect(job.model.signature).toEqual(signature);
    expect(job.model.vendorKey?.keyId).toBe(signature.keyId);
    // Unsigned models keep the shape agents knew before signing existed.
    const unsigned = parsed.find((j: Job) => j.model.modelId === net.acmeModel.modelId)!;
    expect('signature' in unsigned.model || 'vendorKey' in unsigned.model).toBe(false);

    const bytes = (await call(cloud, 'GET', job.model.downloadUrl, { token: net.siteA.token })).res;
    const downloaded = new Uint8Array(await bytes.arrayBuffer());
    const key = job.model.vendorKey!.publicKey;
    expect(verifyModelSignature(job.model.manifest, sha256(downloaded), job.model.signature, key)).toEqual({
      ok: true,
      keyId: signature.keyId,
    });
    const swapped = ModelManifest.parse({ ...job.model.manifest, threshold: 0.01 });
    expect(verifyModelSignature(swapped, sha256(downloaded), job.model.signature, key)).toMatchObject({
      ok: false,
      reason: 'manifest-mismatch',
    });
    expect(
      verifyModelSignature(job.model.manifest, sha256(fakeOnnx('x')), job.model.signature, key),
    ).toMatchObject({
      ok: false,
      reason: 'sha256-mismatch',
    });
    const forged = { ...signature, signature: Buffer.alloc(64, 1).toString('base64') };
    expect(verifyModelSignature(job.model.manifest, sha256(downloaded), forged, key)).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    });
    const otherKey = generateVendorKey(join(dir, 'k2')).publicKey;
    expect(verifyModelSignature(job.model.manifest, sha256(downloaded), signature, otherKey)).toMatchObject({
      ok: false,
      reason: 'key-mismatch',
    });
  });

  it('a campaign that requires signed models refuses unsigned ones', async () => {
    const r = await call(cloud, 'POST', '/v1/campaigns', {
      token: cloud.adminToken,
      json: {
        name: 'strict',
        modelIds: [net.acmeModel.modelId],
        siteIds: ['site-a'],
        requireSignedModels: true,
      },
    });
    expect(refusal(r)).toEqual({ status: 400, code: 'unsigned-model' });
  });

  it('a vendor without a registered key may still submit unsigned models', async () => {
    const r = await submit(testManifest({ version: '9.9.9' }), fakeOnnx('unsigned'));
    expect(r.status).toBe(201);
    expect(r.body.signingKeyId).toBeNull();
  });
});
