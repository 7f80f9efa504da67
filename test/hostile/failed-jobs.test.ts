import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitModel } from '../../cli/commands/network.ts';
import { CloudApi } from '../../client/cloud-api.ts';
import { type JobOutcome, runAgent } from '../../edge-agent/run.ts';
import { type ServedCloud, serveCloud } from '../../functions/serve.ts';
import { writeSyntheticSite } from '../../synthetic/dicom.ts';
import { buildNoduleDetectorOnnx, demoManifest } from '../../synthetic/model.ts';
import { runCairn } from '../support/cli-runner.ts';
import { impossibleReshapeOnnx, typeMismatchOnnx } from './broken-models.test-util.ts';
import { enrollArgs } from './demo-network.test-util.ts';

/**
 * Hostile suite, failed jobs. A vendor's model that passes the cloud's checks but cannot run at the site must
 * not stop the site: before, the agent exited 70 on every run and no other job of the campaign ever ran.
 *
 * One campaign, three models, one site (real cloud over HTTP, the `cairn` CLI as its own process, synthetic
 * CT with a canary in every PatientName and in a labels.csv column):
 * - `reshape`: a valid graph whose Reshape no image fits → the job fails as `inference-failed`;
 * - `mistyped`: a float + int64 Add that ONNX Runtime refuses to load → `model-load-failed`;
 * - `good`: the demo's nodule detector → its report arrives.
 * A coordinator sees each failure with its code (`cairn campaign status`), reruns one (`cairn campaign
 * rerun`), and the site's agent runs it again — in `--once` and in polling mode. Only a code and counts leave.
 */

const SITE = 'delta';
const NAME_CANARY = 'CANARY^FAILEDJOBS';
const LABEL_CANARY = 'labelcanary7731';

let dir: string;
let cloud: ServedCloud;
let coordinator: CloudApi;
let coordinatorToken: string;
const models: Record<'reshape' | 'mistyped' | 'good', string> = { reshape: '', mistyped: '', good: '' };
const agentState = () => join(dir, 'agent');

async function cli(args: string[]) {
  const r = await runCairn(args);
  if (r.status !== 0) throw new Error(`cairn ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r;
}

const asCoordinator = ['--cloud', '', '--token', '', '--output', 'json'];
function coordinatorCli(args: string[]) {
  asCoordinator[1] = cloud.url;
  asCoordinator[3] = coordinatorToken;
  return cli([...args, ...asCoordinator]);
}

interface JobState {
  jobId: string;
  modelId: string;
  state: string;
  attempt: number;
  failure?: string;
  failureCounts?: { filesScanned?: number };
}

/** The campaign's jobs by model, as `cairn campaign status --output json` prints them (the route behind it). */
async function campaignStatus(campaignId: string): Promise<Record<string, JobState>> {
  const { jobs } = await coordinator.json<{ jobs: JobState[] }>('GET', `/v1/campaigns/${campaignId}/status`);
  const byModel = Object.fromEntries(Object.entries(models).map(([k, id]) => [id, k]));
  return Object.fromEntries(jobs.map((j) => [byModel[j.modelId] as string, j]));
}

async function waitForState(campaignId: string, model: keyof typeof models, state: string, attempt = 1) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const job = (await campaignStatus(campaignId))[model];
    if (job?.state === state && job.attempt === attempt) return job;
    if (Date.now() > deadline) throw new Error(`${model}: ${JSON.stringify(job)}, not ${state}/${attempt}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function newCampaign(name: string, which: (keyof typeof models)[]): Promise<string> {
  const c = await coordinator.json<{ campaignId: string }>('POST', '/v1/campaigns', {
    json: { name, modelIds: which.map((m) => models[m]), siteIds: [SITE], bins: 10, minCell: 5 },
  });
  return c.campaignId;
}

/** Every request body the agent sent (its sent-log), decoded. */
async function sentBodies(): Promise<{ url: string; body: string; status: number | null }[]> {
  const db = createClient({ url: `file:${join(agentState(), 'agent.db')}` });
  try {
    const rows = (await db.execute('SELECT url, body, status FROM sent_log ORDER BY id')).rows;
    return rows.map((r) => ({
      url: String(r.url),
      body: r.body ? Buffer.from(String(r.body), 'base64').toString('utf8') : '',
      status: r.status === null ? null : Number(r.status),
    }));
  } finally {
    db.close();
  }
}

async function submit(key: keyof typeof models, version: string, onnx: Uint8Array, vendorToken: string) {
  const manifest = join(dir, `${key}.json`);
  writeFileSync(manifest, JSON.stringify({ ...demoManifest(1), name: `nodule-${key}`, version }));
  writeFileSync(join(dir, `${key}.onnx`), onnx);
  models[key] = (
    await submitModel(new CloudApi(cloud.url, vendorToken), manifest, join(dir, `${key}.onnx`))
  ).modelId;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-hostile-jobs-'));
  cloud = await serveCloud({ port: 0, dataDir: join(dir, 'cloud') });
  const admin = new CloudApi(cloud.url, readFileSync(cloud.adminTokenPath, 'utf8').trim());
  await admin.json('POST', '/v1/regions', { json: { id: 'west', name: 'West' } });
  await admin.json('POST', '/v1/sites', { json: { id: SITE, regionId: 'west', name: 'Delta' } });
  await admin.json('POST', '/v1/vendors', { json: { id: 'acme-ai', name: 'Acme' } });
  const vendor = await admin.json<{ token: string }>('POST', '/v1/tokens', {
    json: { role: 'vendor', vendorId: 'acme-ai', label: 'acme' },
  });
  coordinatorToken = (
    await admin.json<{ token: string }>('POST', '/v1/tokens', {
      json: { role: 'coordinator', label: 'coord' },
    })
  ).token;
  coordinator = new CloudApi(cloud.url, coordinatorToken);
  const size = demoManifest(1).input.height;
  await submit('reshape', '9.0.0', impossibleReshapeOnnx(size), vendor.token);
  await submit('mistyped', '9.1.0', typeMismatchOnnx(size), vendor.token);
  await submit('good', '1.0.0', buildNoduleDetectorOnnx(1), vendor.token);

  const site = await writeSyntheticSite(
    {
      siteId: SITE,
      seed: 7,
      studies: 16,
      prevalence: 0.5,
      manufacturer: 'SIEMENS',
      scannerModel: 'X',
      institution: 'Delta',
      noiseHu: 12,
      nodule: { minHu: 25, maxHu: 60 },
      slicesPerStudy: [2, 2],
      phi: (tag) => (tag === 'PatientName' ? NAME_CANARY : undefined),
    },
    join(dir, SITE),
  );
  const [header, ...rows] = readFileSync(site.labelsPath, 'utf8').trim().split('\n');
  writeFileSync(site.labelsPath, `${header},note\n${rows.map((r) => `${r},${LABEL_CANARY}`).join('\n')}\n`);
  const policy = join(dir, 'policy.json');
  writeFileSync(
    policy,
    JSON.stringify({
      schema: 'cairn.release-policy/v1',
      autoApprove: [{ campaign: '*', minCellAtLeast: 5 }],
    }),
  );
  const { token } = await coordinator.json<{ token: string }>('POST', `/v1/sites/${SITE}/enrollment-tokens`, {
    json: {},
  });
  await cli(
    enrollArgs({
      cloudUrl: cloud.url,
      token,
      dicom: join(dir, SITE, 'dicom'),
      labels: site.labelsPath,
      state: agentState(),
      extra: ['--workers', '1', '--release-policy', policy],
    }),
  );
}, 120_000);

afterAll(async () => {
  await cloud?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('hostile: a model the site cannot load or run', () => {
  let campaignId: string;

  it('fails only its own job (inference-failed, model-load-failed), the good model reports, and `agent run --once` exits 0', async () => {
    campaignId = await newCampaign('three models', ['reshape', 'mistyped', 'good']);
    const r = await cli(['agent', 'run', '--once', '--state', agentState()]);
    const jobs = await campaignStatus(campaignId);
    expect(r.stderr).toContain(`job ${jobs.reshape?.jobId}: failed: inference-failed`);
    expect(r.stderr).toContain(`job ${jobs.mistyped?.jobId}: failed: model-load-failed`);
    expect(r.stderr).toMatch(new RegExp(`job ${jobs.good?.jobId}: \\d+ cases`));

    await waitForState(campaignId, 'good', 'reported');
    const after = await campaignStatus(campaignId);
    expect(after.reshape).toMatchObject({ state: 'failed', failure: 'inference-failed', attempt: 1 });
    // The agent tries the model on one blank image before it reads any file: refused there, nothing was scanned.
    expect(after.reshape?.failureCounts?.filesScanned ?? 0).toBe(0);
    expect(after.mistyped).toMatchObject({ state: 'failed', failure: 'model-load-failed', attempt: 1 });

    const json = JSON.parse((await coordinatorCli(['campaign', 'status', '--campaign', campaignId])).stdout);
    expect(
      Object.fromEntries((json.jobs as JobState[]).map((j) => [j.modelId, [j.state, j.failure ?? null]])),
    ).toEqual({
      [models.reshape]: ['failed', 'inference-failed'],
      [models.mistyped]: ['failed', 'model-load-failed'],
      [models.good]: ['reported', null],
    });
    const table = await cli([
      'campaign',
      'status',
      '--campaign',
      campaignId,
      '--cloud',
      cloud.url,
      '--token',
      coordinatorToken,
    ]);
    expect(table.stdout).toMatch(/nodule-reshape 9\.0\.0\s+failed\s+1\s+inference-failed/);
    expect(table.stdout).toMatch(/nodule-mistyped 9\.1\.0\s+failed\s+1\s+model-load-failed/);
    expect(table.stdout).toMatch(/nodule-good 1\.0\.0\s+reported/);
    const list = await cli(['campaign', 'list', '--cloud', cloud.url, '--token', coordinatorToken]);
    expect(list.stdout).toMatch(new RegExp(`${campaignId}\\s+three models\\s+\\S+\\s+3\\s+3\\s+1\\s+2`));
  });

  it('does not pull a failed job again; `campaign rerun --model` makes it pending with attempt 2 and the agent runs it again', async () => {
    const idle = await cli(['agent', 'run', '--once', '--state', agentState()]);
    expect(idle.stderr).not.toContain('evaluating');

    const rerun = await coordinatorCli([
      'campaign',
      'rerun',
      '--campaign',
      campaignId,
      '--model',
      models.reshape,
    ]);
    expect(JSON.parse(rerun.stdout).rerun).toEqual([
      expect.objectContaining({ modelId: models.reshape, siteId: SITE, attempt: 2 }),
    ]);
    expect((await campaignStatus(campaignId)).reshape).toMatchObject({ state: 'pending', attempt: 2 });

    const again = await cli(['agent', 'run', '--once', '--state', agentState()]);
    const jobs = await campaignStatus(campaignId);
    expect(again.stderr).toContain(`job ${jobs.reshape?.jobId}: evaluating acme-ai/nodule-reshape 9.0.0`);
    expect(again.stderr).not.toContain(jobs.mistyped?.jobId);
    expect(again.stderr).not.toContain(jobs.good?.jobId);
    expect(jobs.reshape).toMatchObject({ state: 'failed', failure: 'inference-failed', attempt: 2 });
  });

  it('the same in polling mode: failures are reported, the loop goes on, and a rerun is picked up on a later pass', async () => {
    const polled = await newCampaign('polling', ['mistyped', 'good']);
    const controller = new AbortController();
    const finished: JobOutcome[] = [];
    let passes = 0;
    const running = runAgent({
      stateDir: agentState(),
      once: false,
      overrides: { pollSeconds: 1 },
      signal: controller.signal,
      events: {
        jobFinished: (o) => finished.push(o),
        statusesSent: () => {
          passes++;
        },
      },
    });
    try {
      await waitForState(polled, 'mistyped', 'failed');
      await waitForState(polled, 'good', 'reported');
      await coordinatorCli(['campaign', 'rerun', '--campaign', polled]);
      await waitForState(polled, 'mistyped', 'failed', 2);
    } finally {
      controller.abort();
    }
    await expect(running).resolves.toBeDefined();
    // The first pass runs both jobs (in either order), a later one the rerun.
    expect(finished.map((o) => o.failure ?? o.status).sort()).toEqual([
      'model-load-failed',
      'model-load-failed',
      'reported',
    ]);
    expect(finished.at(-1)?.failure).toBe('model-load-failed');
    expect(passes).toBeGreaterThan(2);
  });

  it('a failure noticed offline is kept and reported on the next pass that reaches the cloud', async () => {
    const jobs = await campaignStatus(await newCampaign('offline', ['mistyped']));
    await runAgent({ stateDir: agentState(), once: true });
    const statusUrl = `/v1/jobs/${jobs.mistyped?.jobId}/status`;
    const delivered = async () =>
      (await sentBodies()).filter((s) => s.url.endsWith(statusUrl) && s.status === 200);
    expect(await delivered()).toHaveLength(2); // running, then failed
    const db = createClient({ url: `file:${join(agentState(), 'agent.db')}` });
    const waiting = async () =>
      Number(
        (await db.execute('SELECT count(*) AS n FROM jobs WHERE status_to_send IS NOT NULL')).rows[0]?.n,
      );
    try {
      await db.execute({ sql: 'UPDATE identity SET cloud_url = ?', args: ['http://127.0.0.1:9'] });
      // The site reruns its failed jobs locally (their models are cached): they fail again, the cloud away.
      const offline = await runCairn(['agent', 'run', '--once', '--retry-failed', '--state', agentState()]);
      expect(offline.status).toBe(0);
      expect(offline.stderr).toContain(`job ${jobs.mistyped?.jobId}: failed: model-load-failed`);
      expect(offline.stderr).toMatch(/job statuses: 0 sent, 0 refused, \d+ waiting for the network/);
      expect(await waiting()).toBeGreaterThan(0);
      await db.execute({ sql: 'UPDATE identity SET cloud_url = ?', args: [cloud.url] });
      await runAgent({ stateDir: agentState(), once: true });
      expect(await waiting()).toBe(0);
    } finally {
      db.close();
    }
    const after = await delivered();
    expect(after).toHaveLength(3);
    expect(JSON.parse(after[2]?.body ?? '{}')).toMatchObject({
      status: 'failed',
      failure: 'model-load-failed',
    });
  });

  it('a site that fixed its data reruns its own failed job with `agent run --retry-failed`', async () => {
    const fixed = await newCampaign('labels fixed', ['good']);
    const labels = join(dir, SITE, 'labels.csv');
    const good = readFileSync(labels);
    writeFileSync(labels, 'PatientName,outcome\nDOE^JANE,yes\n');
    try {
      const r = await cli(['agent', 'run', '--once', '--state', agentState()]);
      expect(r.stderr).toContain('failed: labels-unreadable');
    } finally {
      writeFileSync(labels, good);
    }
    expect((await waitForState(fixed, 'good', 'failed')).failure).toBe('labels-unreadable');
    await cli(['agent', 'run', '--once', '--retry-failed', '--state', agentState()]);
    await waitForState(fixed, 'good', 'reported');
  });

  it('a site whose settings cannot be applied stops with one line (exit 1) and fails no job', async () => {
    const pending = await newCampaign('bad settings', ['good']);
    // (A labels.csv or DICOM folder that is gone is not a settings error: it fails the job, see --retry-failed.)
    const settingsFile = join(agentState(), 'agent.json');
    const settings = readFileSync(settingsFile, 'utf8');
    writeFileSync(settingsFile, JSON.stringify({ ...JSON.parse(settings), memoryBudgetMiB: 1 }));
    try {
      const r = await runCairn(['agent', 'run', '--once', '--state', agentState()]);
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^cairn: agent settings are invalid .*memoryBudgetMiB/),
      ]);
    } finally {
      writeFileSync(settingsFile, settings);
    }
    expect((await campaignStatus(pending)).good).toMatchObject({ state: 'pending', attempt: 1 });
  });

  it('what left the site about failed jobs is a code and counts: no PatientName, no labels.csv text, no path', async () => {
    const sent = await sentBodies();
    const statuses = sent.filter((s) => /\/v1\/jobs\/[^/]+\/status$/.test(s.url));
    expect(statuses.filter((s) => s.body.includes('"failed"')).length).toBeGreaterThan(4);
    for (const s of statuses) {
      const body = JSON.parse(s.body);
      expect(
        Object.keys(body).every((k) => ['jobId', 'attempt', 'status', 'failure', 'counts'].includes(k)),
      ).toBe(true);
    }
    for (const s of sent) {
      for (const canary of [NAME_CANARY, LABEL_CANARY, 'DOE^JANE', dir, 'Reshape', 'Type Error'])
        expect(`${s.url}\n${s.body}`).not.toContain(canary);
    }
  });
});
