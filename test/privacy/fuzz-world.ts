import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { submitModel } from '../../cli/commands/network.ts';
import { CloudApi } from '../../client/cloud-api.ts';
import type { runAgent } from '../../edge-agent/run.ts';
import { type ServedCloud, serveCloud } from '../../functions/serve.ts';
import { buildNoduleDetectorOnnx, demoManifest } from '../../synthetic/model.ts';
import { Rng } from '../../synthetic/rng.ts';
import { Haystacks } from '../support/haystacks.ts';
import { CanaryFactory } from '../support/phi-canaries.ts';
import { startRecordingProxy } from '../support/recording-proxy.ts';
import { FUZZ_SEED, type SetPlan } from './fuzz-plan.ts';

export interface SiteRun {
  id: string;
  set: number;
  region: string;
  stateDir: string;
  inputDir: string;
  pathCanary: string;
  /** Canaries the generator says it wrote into the site's studies (all must be in the files). */
  studyCanaries: string[];
  /** Canaries meant for the odd files (the text note and screenshot carry only some attributes). */
  oddFileCanaries: string[];
  outcomes: Awaited<ReturnType<typeof runAgent>>;
  viaCli: boolean;
  plan: SetPlan;
}

export interface Tokens {
  admin: string;
  vendor: string;
  coordinator: string;
  /** A coordinator scoped to the north region. */
  north: string;
}

/** One cloud behind a recording proxy, its people, and everything the fuzz planted, ran and collected. */
export interface FuzzWorld {
  root: string;
  cloudDir: string;
  cloud: ServedCloud;
  proxy: Awaited<ReturnType<typeof startRecordingProxy>>;
  tokens: Tokens;
  admin: CloudApi;
  coordinator: CloudApi;
  factory: CanaryFactory;
  haystacks: Haystacks;
  sites: SiteRun[];
  campaigns: { id: string; set: number; sites: string[] }[];
  modelIds: string[];
  /** GET route → statuses seen over all roles and ids. */
  sweep: Map<string, Set<number>>;
  sweepRequests: number;
  started: number;
  runSeconds: number;
}

async function issueToken(admin: CloudApi, json: Record<string, unknown>): Promise<string> {
  return (await admin.json<{ token: string }>('POST', '/v1/tokens', { json })).token;
}

/** Serves a cloud, puts the proxy in front, creates the regions, the vendor and the tokens, submits v1 and v2. */
export async function startFuzzWorld(): Promise<FuzzWorld> {
  const started = Date.now();
  const root = mkdtempSync(join(tmpdir(), 'cairn-phi-fuzz-'));
  const cloudDir = join(root, 'cloud');
  const cloud = await serveCloud({ port: 0, dataDir: cloudDir });
  const proxy = await startRecordingProxy(cloud.url);
  const adminToken = readFileSync(cloud.adminTokenPath, 'utf8').trim();
  const admin = new CloudApi(proxy.url, adminToken);
  for (const region of ['north', 'south'])
    await admin.json('POST', '/v1/regions', { json: { id: region, name: region } });
  await admin.json('POST', '/v1/vendors', { json: { id: 'acme-ai', name: 'Acme' } });
  const tokens: Tokens = {
    admin: adminToken,
    vendor: await issueToken(admin, { role: 'vendor', vendorId: 'acme-ai', label: 'acme' }),
    coordinator: await issueToken(admin, { role: 'coordinator', label: 'c' }),
    north: await issueToken(admin, { role: 'coordinator', regionIds: ['north'], label: 'north' }),
  };
  const vendor = new CloudApi(proxy.url, tokens.vendor);
  const modelIds: string[] = [];
  for (const version of [1, 2] as const) {
    writeFileSync(join(root, `manifest-${version}.json`), JSON.stringify(demoManifest(version)));
    writeFileSync(join(root, `model-${version}.onnx`), buildNoduleDetectorOnnx(version));
    const submitted = await submitModel(
      vendor,
      join(root, `manifest-${version}.json`),
      join(root, `model-${version}.onnx`),
    );
    modelIds.push(submitted.modelId);
  }
  return {
    root,
    cloudDir,
    cloud,
    proxy,
    tokens,
    admin,
    coordinator: new CloudApi(proxy.url, tokens.coordinator),
    factory: new CanaryFactory(new Rng(FUZZ_SEED).fork('canaries')),
    haystacks: new Haystacks(),
    sites: [],
    campaigns: [],
    modelIds,
    sweep: new Map(),
    sweepRequests: 0,
    started,
    runSeconds: 0,
  };
}

/** The rows of an agent's state the fuzz searches: its sent log, its outbox and its API token. */
export async function agentRows(stateDir: string) {
  const db = createClient({ url: `file:${join(stateDir, 'agent.db')}` });
  try {
    const sent = (await db.execute('SELECT id, method, url, body, status FROM sent_log ORDER BY id')).rows;
    const outbox = (await db.execute('SELECT report_id, status, report FROM outbox')).rows;
    const token = String((await db.execute('SELECT api_token FROM identity')).rows[0]?.api_token ?? '');
    return { sent, outbox, token };
  } finally {
    db.close();
  }
}
