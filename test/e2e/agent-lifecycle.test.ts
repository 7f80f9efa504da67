import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitModel } from '../../cli/commands/network.ts';
import { CloudApi, CloudRefusal } from '../../client/cloud-api.ts';
import { AgentSettings } from '../../edge-agent/config.ts';
import { enrollAgent } from '../../edge-agent/enroll.ts';
import { generateSiteKeyPair } from '../../edge-agent/identity.ts';
import { rotateKey } from '../../edge-agent/key-rotation.ts';
import { writeReleasePolicy } from '../../edge-agent/review/policy.ts';
import { decideHeldReport, listHeldReports } from '../../edge-agent/review/review.ts';
import { runAgent } from '../../edge-agent/run.ts';
import { rotateSiteKey } from '../../edge-agent/site-key.ts';
import { identity, sentLog } from '../../edge-agent/state/schema.ts';
import { openAgentState } from '../../edge-agent/state/store.ts';
import { agentStatus } from '../../edge-agent/status.ts';
import { type ServedCloud, serveCloud } from '../../functions/serve.ts';
import { writeSyntheticSite } from '../../synthetic/dicom.ts';
import { buildNoduleDetectorOnnx, demoManifest } from '../../synthetic/model.ts';

/**
 * One agent's life against a real cloud over HTTP: one-time enrollment, a tampered model that is never run,
 * and a report that waits in the outbox while the cloud is down and goes out when it is back.
 */

let dir: string;
let cloud: ServedCloud;
let admin: CloudApi;
let coordinator: CloudApi;
let modelId: string;
let sha256: string;
const stateDir = () => join(dir, 'agent');

async function newCampaign(): Promise<string> {
  const c = await coordinator.json<{ campaignId: string }>('POST', '/v1/campaigns', {
    json: { name: 'lifecycle', modelIds: [modelId], siteIds: ['gamma'], bins: 10, minCell: 5 },
  });
  return c.campaignId;
}

async function jobStatuses(campaignId: string): Promise<string[]> {
  const c = await coordinator.json<{ jobs: { status: string }[] }>('GET', `/v1/campaigns/${campaignId}`);
  return c.jobs.map((j) => j.status);
}

/** Each job's failure code, from the coordinator's per-site view (GET /v1/campaigns/:id/status). */
async function jobFailures(campaignId: string): Promise<(string | null)[]> {
  const c = await coordinator.json<{ jobs: { failure?: string }[] }>(
    'GET',
    `/v1/campaigns/${campaignId}/status`,
  );
  return c.jobs.map((j) => j.failure ?? null);
}

async function waitForDone(campaignId: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await jobStatuses(campaignId))[0] !== 'done' && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  expect(await jobStatuses(campaignId)).toEqual(['done']);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-agent-'));
  cloud = await serveCloud({ port: 0, dataDir: join(dir, 'cloud') });
  admin = new CloudApi(cloud.url, readFileSync(cloud.adminTokenPath, 'utf8').trim());
  await admin.json('POST', '/v1/regions', { json: { id: 'east', name: 'East' } });
  await admin.json('POST', '/v1/sites', { json: { id: 'gamma', regionId: 'east', name: 'Gamma' } });
  await admin.json('POST', '/v1/vendors', { json: { id: 'acme-ai', name: 'Acme' } });
  const vendorToken = await admin.json<{ token: string }>('POST', '/v1/tokens', {
    json: { role: 'vendor', vendorId: 'acme-ai', label: 'acme' },
  });
  const coordinatorToken = await admin.json<{ token: string }>('POST', '/v1/tokens', {
    json: { role: 'coordinator', label: 'coord' },
  });
  coordinator = new CloudApi(cloud.url, coordinatorToken.token);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(demoManifest(1)));
  writeFileSync(join(dir, 'model.onnx'), buildNoduleDetectorOnnx(1));
  const submitted = await submitModel(
    new CloudApi(cloud.url, vendorToken.token),
    join(dir, 'manifest.json'),
    join(dir, 'model.onnx'),
  );
  modelId = submitted.modelId;
  sha256 = submitted.sha256;
  await writeSyntheticSite(
    {
      siteId: 'gamma',
      seed: 99,
      studies: 24,
      prevalence: 0.4,
      manufacturer: 'SIEMENS',
      scannerModel: 'X',
      institution: 'Gamma',
      noiseHu: 12,
      nodule: { minHu: 25, maxHu: 60 },
    },
    join(dir, 'gamma'),
  );
}, 120_000);

afterAll(async () => {
  await cloud?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('an edge agent against a real cloud', () => {
  const settings = () =>
    AgentSettings.parse({
      dicom: join(dir, 'gamma', 'dicom'),
      labels: join(dir, 'gamma', 'labels.csv'),
      threads: 1,
    });

  it('enrolls once with a one-time token, which cannot be used again', async () => {
    const { token } = await coordinator.json<{ token: string }>('POST', '/v1/sites/gamma/enrollment-tokens', {
      json: {},
    });
    const enrolled = await enrollAgent({
      stateDir: stateDir(),
      cloudUrl: cloud.url,
      token,
      settings: settings(),
    });
    expect(enrolled.siteId).toBe('gamma');
    const again = enrollAgent({
      stateDir: join(dir, 'agent-2'),
      cloudUrl: cloud.url,
      token,
      settings: settings(),
    });
    await expect(again).rejects.toBeInstanceOf(CloudRefusal);
    await expect(again).rejects.toMatchObject({ status: 401 });
    expect((await agentStatus(stateDir())).siteId).toBe('gamma');
  });

  it('never runs a model whose bytes differ from the pinned sha256', async () => {
    const campaignId = await newCampaign();
    const blob = join(dir, 'cloud', 'blobs', 'models', `${sha256}.onnx`);
    const original = readFileSync(blob);
    writeFileSync(blob, Buffer.concat([original, Buffer.from([0])]));
    let scored = false;
    try {
      const outcomes = await runAgent({
        stateDir: stateDir(),
        once: true,
        events: { progress: () => (scored = true) },
      });
      expect(outcomes).toEqual([
        { jobId: expect.any(String), status: 'failed', failure: 'model-sha256-mismatch' },
      ]);
    } finally {
      writeFileSync(blob, original);
    }
    expect(scored).toBe(false);
    // The site told the cloud why (a code only); the job is not pulled again unless a coordinator reruns it.
    expect(await jobStatuses(campaignId)).toEqual(['failed']);
  });

  it('holds every report for review by default: nothing leaves until a site admin approves it', async () => {
    const campaignId = await newCampaign();
    const [outcome] = await runAgent({ stateDir: stateDir(), once: true });
    expect(outcome).toMatchObject({ status: 'reported', release: 'held' });
    expect((await agentStatus(stateDir())).outbox).toMatchObject({ held: 1, sent: 0 });
    // The cloud hears that the report waits at the site (a status, no numbers).
    expect(await jobStatuses(campaignId)).toEqual(['held']);

    const state = await openAgentState(stateDir());
    let shown = '';
    try {
      const [held] = await listHeldReports(state.db);
      shown = held!.bytes;
      await expect(decideHeldReport(state.db, 'not-a-report', 'approve')).rejects.toThrow(/no report/);
      await decideHeldReport(state.db, held!.reportId, 'approve');
      await expect(decideHeldReport(state.db, held!.reportId, 'reject')).rejects.toThrow(/no report/);
    } finally {
      state.close();
    }
    await runAgent({ stateDir: stateDir(), once: true });
    expect((await agentStatus(stateDir())).outbox).toMatchObject({ held: 0, sent: 1 });
    await waitForDone(campaignId);

    // What the review showed is byte for byte the payload of the envelope that left.
    const after = await openAgentState(stateDir());
    try {
      const sent = await after.db.select().from(sentLog).where(eq(sentLog.status, 202)).all();
      expect(sent).toHaveLength(1);
      const envelope = JSON.parse(Buffer.from(sent[0]!.body!, 'base64').toString('utf8'));
      expect(Buffer.from(envelope.payload, 'base64').toString('utf8')).toBe(shown);
    } finally {
      after.close();
    }
  });

  it('never sends a report the site admin rejected', async () => {
    const campaignId = await newCampaign();
    await runAgent({ stateDir: stateDir(), once: true });
    const state = await openAgentState(stateDir());
    try {
      const [held] = await listHeldReports(state.db);
      await decideHeldReport(state.db, held!.reportId, 'reject');
    } finally {
      state.close();
    }
    await runAgent({ stateDir: stateDir(), once: true });
    expect((await agentStatus(stateDir())).outbox).toMatchObject({ held: 0, rejected: 1, sent: 1 });
    // The coordinator hears that no report will come (a code, nothing of the report).
    expect(await jobStatuses(campaignId)).toEqual(['failed']);
    expect(await jobFailures(campaignId)).toEqual(['release-declined-at-site']);
  });

  it('keeps a report in the outbox while the cloud is down and sends it once it is back', async () => {
    // From here on the site pre-approves reports gated at k ≥ 5 by a written policy.
    writeReleasePolicy(stateDir(), {
      schema: 'cairn.release-policy/v1',
      autoApprove: [{ campaign: '*', kind: 'evaluation', minCellAtLeast: 5 }],
    });
    const campaignId = await newCampaign();
    const port = cloud.port;
    let closed: Promise<void> | undefined;
    const flushes: { sent: number; pending: number }[] = [];
    const outcomes = await runAgent({
      stateDir: stateDir(),
      once: true,
      events: {
        // The model is downloaded and scoring has begun: now the network goes away.
        progress: () => {
          closed ??= cloud.close();
        },
        flushed: (r) => flushes.push(r),
      },
    });
    await closed;
    expect(outcomes.map((o) => o.status)).toEqual(['reported']);
    expect(flushes.at(-1)).toMatchObject({ sent: 0, pending: 1 });
    expect((await agentStatus(stateDir())).outbox).toMatchObject({ pending: 1, sent: 1 });

    cloud = await serveCloud({ port, dataDir: join(dir, 'cloud') });
    await runAgent({ stateDir: stateDir(), once: true });
    expect((await agentStatus(stateDir())).outbox).toMatchObject({ pending: 0, sent: 2 });
    await waitForDone(campaignId);
  });

  it('reports the subgroup attributes a campaign names and the site allow-lists, read from labels.csv columns', async () => {
    const labelsPath = join(dir, 'gamma', 'labels.csv');
    const [header, ...rows] = readFileSync(labelsPath, 'utf8').trim().split('\n');
    writeFileSync(
      labelsPath,
      `${[`${header},Ward`, ...rows.map((r, i) => `${r},${i % 2 ? 'east wing' : 'west wing'}`)].join('\n')}\n`,
    );
    const { campaignId } = await coordinator.json<{ campaignId: string }>('POST', '/v1/campaigns', {
      json: {
        name: 'wards',
        modelIds: [modelId],
        siteIds: ['gamma'],
        bins: 10,
        minCell: 5,
        subgroupAttributes: ['ward'],
      },
    });
    await runAgent({ stateDir: stateDir(), once: true, overrides: { releaseColumns: ['ward'] } });
    await waitForDone(campaignId);
    const cloudDb = createClient({ url: `file:${join(dir, 'cloud', 'cairn.db')}` });
    const stored = await cloudDb.execute({
      sql: 'SELECT report FROM reports WHERE campaign_id = ?',
      args: [campaignId],
    });
    cloudDb.close();
    const report = JSON.parse(String(stored.rows[0]?.report));
    const wards = report.subgroups.filter((g: { attribute: string }) => g.attribute === 'ward');
    expect(wards.length).toBeGreaterThan(0);
    expect(wards.reduce((n: number, g: { cases: number }) => n + g.cases, 0)).toBe(report.cases);
    for (const g of wards) expect(['EAST WING', 'WEST WING', 'other']).toContain(g.value);
  });

  it('books differential-privacy ε per campaign and refuses a release the budget cannot pay for', async () => {
    const paid = await newCampaign();
    const [released] = await runAgent({
      stateDir: stateDir(),
      once: true,
      overrides: { dp: { epsilonPerReport: 1, budgetPerCampaign: 1 } },
    });
    expect(released).toMatchObject({ status: 'reported', release: 'auto-approved' });
    await waitForDone(paid);
    const cloudDb = createClient({ url: `file:${join(dir, 'cloud', 'cairn.db')}` });
    const stored = await cloudDb.execute({
      sql: 'SELECT report FROM reports WHERE campaign_id = ?',
      args: [paid],
    });
    cloudDb.close();
    expect(JSON.parse(String(stored.rows[0]?.report)).differentialPrivacy).toMatchObject({ epsilon: 1 });

    const overBudget = await newCampaign();
    const [refused] = await runAgent({
      stateDir: stateDir(),
      once: true,
      overrides: { dp: { epsilonPerReport: 2, budgetPerCampaign: 1 } },
    });
    expect(refused).toEqual({
      jobId: expect.any(String),
      status: 'failed',
      failure: 'privacy-budget-exhausted',
    });
    expect(await jobStatuses(overBudget)).toEqual(['failed']);
  });

  it('rotates its key, and recovers a rotation whose answer was lost', async () => {
    const state = await openAgentState(stateDir());
    let api: CloudApi;
    try {
      const me = (await state.db.select().from(identity).get())!;
      api = new CloudApi(cloud.url, me.apiToken);
      const rotated = await rotateSiteKey(state.db, api, stateDir());
      expect(rotated.retiredKeyId).toBe(me.keyId);

      // The cloud commits a second rotation but its answer never reaches the agent.
      const fresh = generateSiteKeyPair();
      writeFileSync(join(stateDir(), 'pending-key.json'), JSON.stringify(fresh), { mode: 0o600 });
      const current = (await state.db.select().from(identity).get())!;
      await rotateKey(
        api,
        { siteId: 'gamma', keyId: current.keyId, privateKeyPkcs8: current.privateKey },
        new Date(),
        fresh,
      );
    } finally {
      state.close();
    }
    // The next run adopts the pending key before it signs, so its report is accepted.
    const campaignId = await newCampaign();
    const [outcome] = await runAgent({ stateDir: stateDir(), once: true });
    expect(outcome).toMatchObject({ status: 'reported' });
    await waitForDone(campaignId);
    const after = await openAgentState(stateDir());
    try {
      const me = (await after.db.select().from(identity).get())!;
      expect(me.publicKey).toBeTruthy();
      const { keys } = await api.json<{ keys: { keyId: string; revokedAt: string | null }[] }>(
        'GET',
        '/v1/sites/gamma/keys',
      );
      expect(keys.filter((k) => k.revokedAt === null).map((k) => k.keyId)).toEqual([me.keyId]);
    } finally {
      after.close();
    }
  });
});
