import { type KeyObject, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportRawPublicKey, generateEd25519KeyPair, signEd25519 } from '../crypto/ed25519.ts';
import { tinyModel } from '../edge-agent/pipeline/onnx-model.test-util.ts';
import type { BlobStore } from '../infra/blob-store.ts';
import { createFsBlobStore } from '../infra/blob-store-fs.ts';
import { fixedClock } from '../infra/clock.ts';
import { createMemoryLog } from '../infra/operational-log.ts';
import type { Queue } from '../infra/queue.ts';
import { createDbQueue, type DbQueue } from '../infra/queue-db.ts';
import { canonicalJson } from '../schemas/canonical-json.ts';
import { type Envelope, envelopeSigningInput } from '../schemas/envelope.ts';
import type { ModelManifestInput } from '../schemas/model-manifest.ts';
import { encodeVarint } from '../schemas/onnx-graph.ts';
import type { SiteReport } from '../schemas/site-report.ts';
import { wilson } from '../stats/binomial.ts';
import { largeOnnx } from '../synthetic/large-onnx.ts';
import { issueApiToken } from './api/issue-token.ts';
import { createCloudApp } from './app.ts';
import { appendAudit } from './audit/append.ts';
import { sha256Hex } from './audit/hashes.ts';
import { openDatabase } from './db/database.ts';
import type { CloudDeps, CloudLimits } from './deps.ts';
import { hashSecret } from './secrets.ts';

/** Test-only builders: a cloud on a temp folder, site keys, valid reports, signed envelopes. */

export const T0 = new Date('2026-11-27T10:00:00.000Z');

export async function openTestCloud(opts: { dbUrl?: string; limits?: Partial<CloudLimits> } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-cloud-'));
  const clock = fixedClock(T0);
  const db = await openDatabase(opts.dbUrl ?? `file:${join(dir, 'cairn.db')}`);
  const log = createMemoryLog();
  const queue: DbQueue = createDbQueue(db, clock);
  const deps: CloudDeps & { queue: DbQueue; log: typeof log; clock: typeof clock } = {
    db,
    blobs: createFsBlobStore(join(dir, 'blobs')),
    queue,
    clock,
    log,
    ...(opts.limits ? { limits: opts.limits } : {}),
  };
  const app = createCloudApp(deps);
  const admin = await issueApiToken(db, T0, { role: 'admin', label: 'test admin' });
  // Recorded as the first start records its admin token, so `cairn audit verify` finds the state agreeing.
  await appendAudit(deps, {
    actor: 'system',
    action: 'token.issued',
    target: admin.id,
    detail: {
      role: 'admin',
      vendorId: null,
      regionIds: null,
      expiresAt: null,
      credentialSha256: sha256Hex(hashSecret(admin.token)),
    },
  });
  return {
    dir,
    deps,
    app,
    adminToken: admin.token,
    close() {
      db.$client.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type TestCloud = Awaited<ReturnType<typeof openTestCloud>>;

/** A parsed response body, read loosely: tests assert on its shape. */
// biome-ignore lint/suspicious/noExplicitAny: test assertions walk arbitrary JSON.
export type Loose = any;

/** A response reduced to what a refusal is judged by: its status and error code. */
export const refusal = (r: { status: number; body: Loose }) => ({
  status: r.status,
  code: r.body?.error?.code,
});

/** A JSON request through app.request, returning status and parsed body. */
export async function call(
  cloud: TestCloud,
  method: string,
  path: string,
  opts: { token?: string; json?: unknown; body?: RequestInit['body']; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Loose; res: Response }> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body = opts.body;
  if (opts.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }
  const res = await cloud.app.request(path, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.clone().text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Not JSON (model bytes): keep the text.
  }
  return { status: res.status, body: parsed, res };
}

export function siteKeyPair(): { publicKeyRaw: string; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateEd25519KeyPair();
  return { publicKeyRaw: exportRawPublicKey(publicKey), privateKey };
}

export function testManifest(over: Partial<ModelManifestInput> = {}): ModelManifestInput {
  return {
    schema: 'cairn.model/v1',
    vendor: 'acme',
    name: 'chest-xray',
    version: '1.0.0',
    task: 'binary-classification',
    modality: ['CR', 'DX'],
    input: { name: 'input', channels: 1, height: 64, width: 64 },
    output: { name: 'score', activation: 'sigmoid' },
    threshold: 0.5,
    studyAggregation: 'max',
    ...over,
  };
}

/** Bytes standing in for an ONNX file: the cloud stores and hashes them, it never parses them. */
/**
 * A real, tiny ONNX model that fits `testManifest()` (input 'input' [N,1,64,64], output 'score' [N,2]), which
 * admission accepts; `seed` goes into the model's doc_string so that each seed gives other bytes (another sha256).
 */
export function fakeOnnx(seed = 'model'): Uint8Array {
  const graph = tinyModel({ inputName: 'input', outputName: 'score', channels: 1, height: 64, width: 64 });
  // ModelProto field 6 (doc_string), appended: protobuf readers take fields in any order.
  const doc = new TextEncoder().encode(seed);
  return new Uint8Array(Buffer.concat([graph, Uint8Array.from([0x32]), encodeVarint(doc.byteLength), doc]));
}

/** A real ONNX model that fits `testManifest()`, of about `size` bytes (random weights: other bytes each call). */
export function testOnnxOfSize(size: number): Uint8Array {
  return largeOnnx(fakeOnnx(), size, (n) => randomBytes(n));
}

export function modelUploadForm(manifest: unknown, onnx: Uint8Array): FormData {
  const form = new FormData();
  form.set('manifest', JSON.stringify(manifest));
  form.set('onnx', new Blob([onnx as Uint8Array<ArrayBuffer>]), 'model.onnx');
  return form;
}

const EDGES_20 = Array.from({ length: 21 }, (_, i) => i / 20);

/**
 * A valid SiteReport (40 studies: 20 positive, 20 negative) gated at minCell 3, the test campaign's;
 * `tp`/`tn` move sensitivity and specificity (keep every cell 0 or >= 3, or the cloud refuses it).
 */
export function siteReport(
  ids: { campaignId: string; jobId: string; siteId: string; model: SiteReport['model'] },
  opts: { tp?: number; tn?: number; auc?: number; reportId?: string; edges?: number[] } = {},
): SiteReport {
  const tp = opts.tp ?? 16;
  const tn = opts.tn ?? 17;
  const auc = opts.auc ?? 0.86;
  // The cloud recomputes every interval from its counts (functions/reports/check-report.ts).
  const prop = (x: number, n: number) => ({
    ...(wilson(x, n) as { estimate: number; ciLow: number; ciHigh: number }),
    numerator: x,
    denominator: n,
    method: 'wilson' as const,
  });
  // On the campaign's edges (the cloud refuses others): every positive scores 0.775, every negative 0.225.
  const edges = opts.edges ?? EDGES_20;
  const binOf = (score: number) => edges.findLastIndex((e, i) => e <= score && i < edges.length - 1);
  const positives = new Array(edges.length - 1).fill(0);
  const negatives = new Array(edges.length - 1).fill(0);
  positives[binOf(0.775)] = 20;
  negatives[binOf(0.225)] = 20;
  return {
    schema: 'cairn.site-report/v1',
    reportId: opts.reportId ?? randomUUID(),
    campaignId: ids.campaignId,
    jobId: ids.jobId,
    siteId: ids.siteId,
    model: ids.model,
    agentVersion: '0.1.0',
    minCell: 3,
    threshold: 0.5,
    cases: 40,
    positives: 20,
    negatives: 20,
    images: { seen: 45, used: 42 },
    excluded: { 'not-dicom': 2, 'no-label': 1 },
    confusion: { tp, fp: 20 - tn, tn, fn: 20 - tp },
    sensitivity: prop(tp, 20),
    specificity: prop(tn, 20),
    ppv: prop(tp, tp + 20 - tn),
    npv: prop(tn, tn + 20 - tp),
    auc: { estimate: auc, se: 0.05, ciLow: auc - 0.1, ciHigh: Math.min(1, auc + 0.1), method: 'delong' },
    histogram: { edges, positives, negatives },
    suppressed: [],
  };
}

export interface Signer {
  siteId: string;
  keyId: string;
  privateKey: KeyObject;
}

/** Signs a payload (a report, canonicalised, or raw text) the way an agent does. */
export function signEnvelope(
  signer: Signer,
  payload: SiteReport | { raw: string },
  opts: { timestamp?: Date; nonce?: string; siteId?: string; keyId?: string } = {},
): Envelope {
  const text = 'raw' in payload ? payload.raw : canonicalJson(payload);
  const unsigned = {
    schema: 'cairn.envelope/v1' as const,
    siteId: opts.siteId ?? signer.siteId,
    keyId: opts.keyId ?? signer.keyId,
    timestamp: (opts.timestamp ?? T0).toISOString(),
    nonce: opts.nonce ?? randomBytes(18).toString('base64url'),
    payload: Buffer.from(text, 'utf8').toString('base64'),
  };
  return { ...unsigned, signature: signEd25519(envelopeSigningInput(unsigned), signer.privateKey) };
}

function expectStatus(r: { status: number; body: unknown }, status: number, what: string) {
  if (r.status !== status)
    throw new Error(`${what}: expected ${status}, got ${r.status} ${JSON.stringify(r.body)}`);
}

/**
 * Two regions, three sites, two vendors, one model each (plus a vendor token each), one campaign over both
 * models and all sites, and two enrolled sites — built through the API, so it doubles as a smoke test.
 */
export async function seedNetwork(cloud: TestCloud) {
  const admin = cloud.adminToken;
  const post = async (path: string, json: unknown, token = admin, status = 201) => {
    const r = await call(cloud, 'POST', path, { token, json });
    expectStatus(r, status, `POST ${path}`);
    return r.body;
  };
  await post('/v1/regions', { id: 'north', name: 'North' });
  await post('/v1/regions', { id: 'south', name: 'South' });
  await post('/v1/sites', { id: 'site-a', regionId: 'north', name: 'Hospital A' });
  await post('/v1/sites', { id: 'site-b', regionId: 'north', name: 'Hospital B' });
  await post('/v1/sites', { id: 'site-c', regionId: 'south', name: 'Hospital C' });
  await post('/v1/vendors', { id: 'acme', name: 'Acme Imaging' });
  await post('/v1/vendors', { id: 'globex', name: 'Globex' });
  const acmeToken = (await post('/v1/tokens', { role: 'vendor', vendorId: 'acme', label: 'acme ci' })).token;
  const globexToken = (await post('/v1/tokens', { role: 'vendor', vendorId: 'globex', label: 'globex' }))
    .token;
  const northToken = (await post('/v1/tokens', { role: 'coordinator', regionIds: ['north'], label: 'north' }))
    .token;

  const upload = async (token: string, manifest: unknown, onnx: Uint8Array) => {
    const r = await call(cloud, 'POST', '/v1/models', { token, body: modelUploadForm(manifest, onnx) });
    expectStatus(r, 201, 'POST /v1/models');
    return r.body as { modelId: string; sha256: string };
  };
  const acmeModel = await upload(acmeToken, testManifest(), fakeOnnx('acme'));
  const globexModel = await upload(
    globexToken,
    testManifest({ vendor: 'globex', name: 'lung' }),
    fakeOnnx('globex'),
  );

  const campaign = await post('/v1/campaigns', {
    name: 'Pneumothorax 2026',
    minCell: 3,
    modelIds: [acmeModel.modelId, globexModel.modelId],
    siteIds: ['site-a', 'site-b', 'site-c'],
  });

  const enroll = async (siteId: string): Promise<Signer & { token: string; publicKeyRaw: string }> => {
    const { token } = await post(`/v1/sites/${siteId}/enrollment-tokens`, {});
    const keys = siteKeyPair();
    const res = await post('/v1/enroll', { token, publicKey: keys.publicKeyRaw, agentVersion: '0.1.0' }, '');
    return {
      siteId,
      keyId: res.keyId,
      privateKey: keys.privateKey,
      token: res.apiToken,
      publicKeyRaw: keys.publicKeyRaw,
    };
  };
  const siteA = await enroll('site-a');
  const siteC = await enroll('site-c');

  const jobFor = (modelId: string, siteId: string): string =>
    (campaign.jobs as { jobId: string; modelId: string; siteId: string }[]).find(
      (j) => j.modelId === modelId && j.siteId === siteId,
    )!.jobId;
  const acmeIds = (siteId: string) => ({
    campaignId: campaign.campaignId as string,
    jobId: jobFor(acmeModel.modelId, siteId),
    siteId,
    model: { vendor: 'acme', name: 'chest-xray', version: '1.0.0', sha256: acmeModel.sha256 },
  });
  return {
    acmeToken,
    globexToken,
    northToken,
    acmeModel,
    globexModel,
    campaign,
    siteA,
    siteC,
    jobFor,
    acmeIds,
  };
}

/**
 * The test cloud with its app on other adapters over the same database (S3 and SQS, say). `deps` stays the
 * embedded set, for reading the database and advancing the clock; the adapters are the caller's to inspect.
 */
export function withAdapters(cloud: TestCloud, adapters: { blobs?: BlobStore; queue?: Queue }): TestCloud {
  return { ...cloud, app: createCloudApp({ ...cloud.deps, ...adapters }) };
}

// fauxqs and the recording proxy live in their own module; tests have always found them here.
export {
  type RecordedRequest,
  startLocalAws,
  startRecordingProxy,
  useLocalAws,
} from './local-aws.test-util.ts';
