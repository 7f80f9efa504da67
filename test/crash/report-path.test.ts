import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '@libsql/client';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { submitModel } from '../../cli/commands/network.ts';
import { CAIRN_BIN, freePort } from '../../cli/demo/cloud-process.ts';
import { CloudApi } from '../../client/cloud-api.ts';
import { AgentSettings } from '../../edge-agent/config.ts';
import { enrollAgent } from '../../edge-agent/enroll.ts';
import { writeReleasePolicy } from '../../edge-agent/review/policy.ts';
import { runAgent } from '../../edge-agent/run.ts';
import { outbox } from '../../edge-agent/state/schema.ts';
import { openAgentState } from '../../edge-agent/state/store.ts';
import { verifyAuditData } from '../../functions/audit/verify-data.ts';
import { writeSyntheticSite } from '../../synthetic/dicom.ts';
import { buildNoduleDetectorOnnx, demoManifest } from '../../synthetic/model.ts';

/**
 * The cloud killed (SIGKILL) right after each database call of the report path — the submission, the queue,
 * ingest and the audit entries — then started again on the same folder: the agent's next run ends with its
 * report stored exactly once, no receipt left without its report, the job done, and the audit log intact.
 *
 * Each round costs about 8 s (three cloud starts, two agent runs), so by default the kills after the first
 * call and after every write (a transaction, an insert, update or delete) of the path run — about 50 s;
 * CAIRN_CRASH_ALL=1 runs a kill after every one of the round's calls, reads and later requests included.
 */

const PRELOAD = fileURLToPath(new URL('./kill-after-statement.mjs', import.meta.url));
const ALL = process.env.CAIRN_CRASH_ALL === '1';

let dir: string;
let port: number;
let coordinator: CloudApi;
let modelId: string;
let cloud: ChildProcess | null = null;
const cloudDir = () => join(dir, 'cloud');
const stateDir = () => join(dir, 'agent');
const statementLog = () => join(dir, 'statements.log');

/** `cairn cloud serve` on the one port the agent knows, the preload loaded; kill point and log from `env`. */
async function startCloud(env: Record<string, string> = {}): Promise<ChildProcess> {
  const out = openSync(join(dir, 'serve.out'), 'a');
  const child = spawn(
    process.execPath,
    ['--import', PRELOAD, CAIRN_BIN, 'cloud', 'serve', '--port', String(port), '--data', cloudDir()],
    { stdio: ['ignore', out, out], env: { ...process.env, ...env } },
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error('the cloud exited at start');
    try {
      if ((await fetch(`http://127.0.0.1:${port}/v1/health`)).ok) return child;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('the cloud did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
  });
}

async function stopCloud(): Promise<void> {
  const child = cloud;
  cloud = null;
  if (!child) return;
  const gone = exited(child);
  child.kill('SIGTERM');
  await gone;
}

/** The cloud database, read by this process while no cloud runs on it. */
async function cloudRows(jobId: string) {
  const db = createClient({ url: `file:${join(cloudDir(), 'cairn.db')}` });
  try {
    const q = async (sql: string, args: string[] = []) => (await db.execute({ sql, args })).rows;
    return {
      reports: (await q('select report_id from reports where job_id = ?', [jobId])).map((r) => r.report_id),
      receipts: (await q('select status from report_receipts where job_id = ?', [jobId])).map(
        (r) => r.status,
      ),
      job: (await q('select status from jobs where id = ?', [jobId]))[0]?.status,
      messages: (await q('select id from queue_messages')).length,
      queuedEntries: (await q("select target from audit_log where action = 'report.queued'")).map(
        (r) => r.target,
      ),
      acceptedEntries: (await q("select target from audit_log where action = 'report.accepted'")).map(
        (r) => r.target,
      ),
    };
  } finally {
    db.close();
  }
}

async function waitForJobDone(campaignId: string): Promise<string> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const c = await coordinator.json<{ jobs: { jobId: string; status: string }[] }>(
      'GET',
      `/v1/campaigns/${campaignId}`,
    );
    const job = c.jobs[0];
    if (job?.status === 'done' || Date.now() > deadline) return job?.jobId ?? '';
    await new Promise((r) => setTimeout(r, 100));
  }
}

const newCampaign = async (name: string) =>
  (
    await coordinator.json<{ campaignId: string }>('POST', '/v1/campaigns', {
      json: { name, modelIds: [modelId], siteIds: ['gamma'], bins: 10, minCell: 5 },
    })
  ).campaignId;

/** One report through a cloud killed after its `killAfter`-th statement, then the agent's next run. */
async function crashRound(killAfter: number) {
  cloud = await startCloud();
  const campaignId = await newCampaign(`crash ${killAfter}`);
  await stopCloud();
  cloud = await startCloud({ CAIRN_KILL_AFTER_STATEMENT: String(killAfter) });
  const dying = cloud;
  // The run meets a cloud that vanishes mid-way: what it says does not matter, what is stored after does.
  await runAgent({ stateDir: stateDir(), once: true }).catch(() => undefined);
  // A kill point past this round's statements leaves the cloud up: it is stopped, as a restart would.
  const killed = await Promise.race([
    exited(dying).then(() => dying.signalCode === 'SIGKILL'),
    new Promise<false>((r) => setTimeout(() => r(false), 2000)),
  ]);
  await stopCloud();
  cloud = await startCloud();
  await runAgent({ stateDir: stateDir(), once: true });
  const jobId = await waitForJobDone(campaignId);
  await stopCloud();
  return { jobId, killed };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-crash-'));
  port = await freePort();
  cloud = await startCloud();
  const url = `http://127.0.0.1:${port}`;
  const admin = new CloudApi(url, readFileSync(join(cloudDir(), 'admin-token'), 'utf8').trim());
  await admin.json('POST', '/v1/regions', { json: { id: 'east', name: 'East' } });
  await admin.json('POST', '/v1/sites', { json: { id: 'gamma', regionId: 'east', name: 'Gamma' } });
  await admin.json('POST', '/v1/vendors', { json: { id: 'acme-ai', name: 'Acme' } });
  const vendor = await admin.json<{ token: string }>('POST', '/v1/tokens', {
    json: { role: 'vendor', vendorId: 'acme-ai', label: 'acme' },
  });
  const coord = await admin.json<{ token: string }>('POST', '/v1/tokens', {
    json: { role: 'coordinator', label: 'coord' },
  });
  coordinator = new CloudApi(url, coord.token);
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(demoManifest(1)));
  writeFileSync(join(dir, 'model.onnx'), buildNoduleDetectorOnnx(1));
  modelId = (
    await submitModel(new CloudApi(url, vendor.token), join(dir, 'manifest.json'), join(dir, 'model.onnx'))
  ).modelId;
  const site = join(dir, 'gamma');
  await writeSyntheticSite(
    {
      siteId: 'gamma',
      seed: 7,
      studies: 24,
      prevalence: 0.4,
      manufacturer: 'SIEMENS',
      scannerModel: 'X',
      institution: 'Gamma',
      noiseHu: 12,
      nodule: { minHu: 25, maxHu: 60 },
    },
    site,
  );
  const { token } = await coordinator.json<{ token: string }>('POST', '/v1/sites/gamma/enrollment-tokens', {
    json: {},
  });
  await enrollAgent({
    stateDir: stateDir(),
    cloudUrl: url,
    token,
    settings: AgentSettings.parse({
      dicom: join(site, 'dicom'),
      labels: join(site, 'labels.csv'),
      threads: 1,
    }),
  });
  writeReleasePolicy(stateDir(), {
    schema: 'cairn.release-policy/v1',
    autoApprove: [{ campaign: '*', kind: 'evaluation', minCellAtLeast: 5 }],
  });
  await stopCloud();
}, 120_000);

afterAll(async () => {
  await stopCloud();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * The database calls of one report's round, as the preload logs them ('<n> execute|batch <sql>'), from a
 * round nobody kills. The report path ends with the ack of its queue message; later calls are the agent's
 * other requests of that run.
 */
async function statementsOfARound(): Promise<string[]> {
  cloud = await startCloud();
  const campaignId = await newCampaign('reference');
  await stopCloud();
  cloud = await startCloud({ CAIRN_STATEMENT_LOG: statementLog() });
  await runAgent({ stateDir: stateDir(), once: true });
  await waitForJobDone(campaignId);
  await stopCloud();
  return readFileSync(statementLog(), 'utf8').trim().split('\n');
}

/** A kill after a read is a kill before the next write: by default, the first call and every write. */
const writes = (line: string) => /^\d+ (batch|execute (insert|update|delete))/.test(line);

describe('a cloud killed at each statement of the report path', () => {
  it('ends with the report stored exactly once, its receipt accepted, the job done and the audit log intact', async () => {
    const lines = await statementsOfARound();
    const pathEnd = lines.findIndex((l) => /execute delete from "queue_messages"/.test(l)) + 1;
    expect(pathEnd, 'the ack of the report message is logged').toBeGreaterThan(5);
    const points = lines
      .map((line, i) => ({ line, n: i + 1 }))
      .filter(({ line, n }) => ALL || n === 1 || (n <= pathEnd + 1 && writes(line)))
      .map(({ n }) => n);
    const kills: number[] = [];
    for (const n of points) {
      const { jobId, killed } = await crashRound(n);
      if (killed) kills.push(n);
      const rows = await cloudRows(jobId);
      const where = `killed after statement ${n}: ${lines[n - 1]}`;
      expect(rows.job, where).toBe('done');
      expect(rows.reports, where).toHaveLength(1);
      expect(rows.receipts, where).toEqual(['accepted']);
      expect(rows.messages, where).toBe(0);
      const reportId = rows.reports[0];
      expect(
        rows.queuedEntries.filter((t) => t === reportId),
        where,
      ).toHaveLength(1);
      expect(
        rows.acceptedEntries.filter((t) => t === reportId),
        where,
      ).toHaveLength(1);
      const audit = await verifyAuditData(cloudDir());
      expect({ ok: audit.ok, disagreements: audit.disagreements }, where).toEqual({
        ok: true,
        disagreements: [],
      });
      const state = await openAgentState(stateDir());
      try {
        const row = await state.db.select().from(outbox).where(eq(outbox.jobId, jobId)).get();
        expect(row?.status, where).toBe('sent');
      } finally {
        state.close();
      }
    }
    // Every kill point on the report path did kill the cloud: the round reached it.
    expect(kills, 'kill points that killed').toEqual(
      expect.arrayContaining(points.filter((n) => n <= pathEnd)),
    );
  }, 900_000);
});
