import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../client/errors.ts';
import { agentLogDir } from '../../edge-agent/agent-logs.ts';
import { AgentSettings } from '../../edge-agent/config.ts';
import { enrollAgent } from '../../edge-agent/enroll.ts';
import { claimJob, releaseJob } from '../../edge-agent/job/claim.ts';
import { enqueueReport } from '../../edge-agent/outbox.ts';
import { privacyGate } from '../../edge-agent/privacy/gate.ts';
import { buildSiteReport } from '../../edge-agent/report/site-report.ts';
import { decideHeldReport } from '../../edge-agent/review/review.ts';
import { runAgent } from '../../edge-agent/run.ts';
import { acquireRunLock, runLockPath } from '../../edge-agent/run-lock.ts';
import { jobs } from '../../edge-agent/state/schema.ts';
import { type AgentDb, openAgentState } from '../../edge-agent/state/store.ts';
import type { ServedCloud } from '../../functions/serve.ts';
import { equalWidthEdges } from '../../stats/histogram.ts';
import { writeSyntheticSite } from '../../synthetic/dicom.ts';
import { runCairn } from '../support/cli-runner.ts';
import { startDemoNetwork } from './demo-network.test-util.ts';

/**
 * Hostile suite, agent runs. One site's state directory, used by more than one agent at a time:
 * - a second `cairn agent run` on it (a cron job beside the service, an operator's manual run) refuses with one
 *   line (run-lock) and changes nothing; a lock left by a run that was killed is taken over;
 * - two agents that both see a pending job (a lock bypassed, a copied state) claim it atomically: one runs it
 *   (job-claimed); and the outbox holds one live report per job whatever happens (outbox_live_job);
 * - a job failure’s detail (a labels.csv line quoting a canary) goes to the local diagnostic log
 *   only: the operational log and everything sent carry the code (labels-unreadable) and counts.
 */

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-agent-runs-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('hostile: two agent runs on one state directory', () => {
  it('a second `cairn agent run` refuses with one line naming the running one (run-lock), and leaves its lock', async () => {
    const state = join(dir, 'locked');
    const unlock = acquireRunLock(state);
    try {
      const second = await runCairn(['agent', 'run', '--once', '--state', state]);
      expect(second.status).toBe(1);
      expect(second.stderr.trim().split('\n')).toEqual([
        expect.stringContaining(
          `cairn: another \`cairn agent run\` (pid ${process.pid}) is using this state directory`,
        ),
      ]);
      // In-process too: the library refuses before reading settings or opening the state database.
      await expect(runAgent({ stateDir: state, once: true })).rejects.toThrow(UserError);
      expect(existsSync(join(state, 'agent.db'))).toBe(false);
      expect(existsSync(runLockPath(state))).toBe(true);
    } finally {
      unlock();
    }
    expect(existsSync(runLockPath(state))).toBe(false);
  }, 30_000);

  it('takes over the lock of a run that was killed (its pid is gone)', () => {
    const state = join(dir, 'stale');
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    acquireRunLock(state)();
    writeFileSync(runLockPath(state), `${dead}\n`);
    const unlock = acquireRunLock(state);
    unlock();
    expect(existsSync(runLockPath(state))).toBe(false);
  });
});

describe('hostile: one job seen by two agents', () => {
  let a: { db: AgentDb; close(): void };
  let b: { db: AgentDb; close(): void };
  beforeAll(async () => {
    // Two connections to one state database: what two agent processes would hold.
    a = await openAgentState(join(dir, 'shared'));
    b = await openAgentState(join(dir, 'shared'));
  });
  afterAll(() => {
    a.close();
    b.close();
  });

  const pending = async (jobId: string) =>
    a.db.insert(jobs).values({
      jobId,
      campaignId: 'camp_1',
      job: '{}',
      status: 'pending',
      updatedAt: new Date().toISOString(),
    });

  it('two claims of one pending job at once: exactly one run gets it (job-claimed)', async () => {
    await pending('job-race');
    const claims = await Promise.all([
      claimJob(a.db, 'job-race', 'run-a'),
      claimJob(b.db, 'job-race', 'run-b'),
    ]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    const winner = claims[0] ? 'run-a' : 'run-b';
    // The loser cannot take it over while the winner runs it …
    expect(await claimJob(b.db, 'job-race', 'run-c')).toBe(false);
    // … nor once it has run; a job left pending (the cloud went away) can be claimed again.
    await a.db.update(jobs).set({ status: 'reported' }).where(eq(jobs.jobId, 'job-race'));
    await releaseJob(a.db, 'job-race', winner);
    expect(await claimJob(b.db, 'job-race', 'run-c')).toBe(false);
    await pending('job-later');
    expect(await claimJob(a.db, 'job-later', 'run-a')).toBe(true);
    await releaseJob(a.db, 'job-later', 'run-a');
    expect(await claimJob(b.db, 'job-later', 'run-b')).toBe(true);
  });

  it('a second live report for one job is refused by the outbox (outbox_live_job); after a rejection a rerun may report', async () => {
    const report = (reportId: string) =>
      privacyGate(
        buildSiteReport({
          reportId,
          campaignId: 'camp_1',
          jobId: 'job-twice',
          siteId: 'site-a',
          model: { vendor: 'acme', name: 'm', version: '1.0.0', sha256: 'a'.repeat(64) },
          agentVersion: '0.1.0',
          threshold: 0.5,
          binEdges: equalWidthEdges(4),
          outcomes: Array.from({ length: 40 }, (_, i) => ({ score: (i % 10) / 10, label: (i % 2) as 0 | 1 })),
          excluded: {},
          images: { seen: 40, used: 40 },
        }),
        { minCell: 5 },
      );
    const first = '33333333-3333-4333-8333-333333333333';
    await enqueueReport(a.db, report(first), { release: 'held' });
    await expect(
      enqueueReport(b.db, report('44444444-4444-4444-8444-444444444444'), { release: 'held' }),
    ).rejects.toThrow(/UNIQUE constraint failed: outbox\.job_id|Failed query/);
    await decideHeldReport(a.db, first, 'reject');
    await enqueueReport(b.db, report('55555555-5555-4555-8555-555555555555'), { release: 'held' });
  });
});

describe('hostile: the diagnostic log stays at the site', () => {
  // Short and plain, so the labels parser quotes it in its message (it never quotes anything longer).
  const CANARY = 'cnry5521';
  let cloud: ServedCloud | undefined;
  const stateDir = () => join(dir, 'diag-agent');
  afterAll(async () => {
    await cloud?.close();
  });

  it('a job failing on a labels.csv that quotes a canary: the diagnostic log has the parser’s line, nothing sent has it or a local path (labels-unreadable)', async () => {
    const net = await startDemoNetwork(join(dir, 'net'), ['diag']);
    cloud = net.cloud;
    const site = await writeSyntheticSite(
      {
        siteId: 'diag',
        seed: 7,
        studies: 4,
        prevalence: 0.5,
        manufacturer: 'SIEMENS',
        scannerModel: 'X',
        institution: 'Diag',
        noiseHu: 12,
        nodule: { minHu: 25, maxHu: 60 },
        size: 32,
        slicesPerStudy: [1, 1],
        unlabeledStudies: 0,
      },
      join(dir, 'diag-site'),
    );
    const { token } = await net.coordinator.json<{ token: string }>(
      'POST',
      '/v1/sites/diag/enrollment-tokens',
      {
        json: {},
      },
    );
    await enrollAgent({
      stateDir: stateDir(),
      cloudUrl: cloud.url,
      token,
      settings: AgentSettings.parse({ dicom: site.dicomDir, labels: site.labelsPath, threads: 1 }),
    });
    await net.coordinator.json('POST', '/v1/campaigns', {
      json: { name: 'diag', modelIds: [net.modelId], siteIds: ['diag'], bins: 10, minCell: 2 },
    });
    // After enrollment the site's labels.csv gets labels no run can read: the canary instead of 0 or 1.
    const [header, ...rows] = readFileSync(site.labelsPath, 'utf8').trim().split('\n');
    const labels = join(dir, `labels-${CANARY}.csv`);
    writeFileSync(labels, `${[header, ...rows.map((r) => r.replace(/,[01],/, `,${CANARY},`))].join('\n')}\n`);

    const outcomes = await runAgent({ stateDir: stateDir(), once: true, overrides: { labels } });
    expect(outcomes).toMatchObject([{ status: 'failed', failure: 'labels-unreadable' }]);

    const logs = agentLogDir(stateDir());
    const diagnostic = readFileSync(join(logs, 'diagnostic.log'), 'utf8');
    expect(diagnostic).toMatch(new RegExp(`labels-unreadable in step read-inputs: .*${CANARY}`));
    const operational = readFileSync(join(logs, 'agent.log'), 'utf8');
    expect(operational).toContain('"failure":"labels-unreadable"');
    expect(operational).not.toContain(CANARY);
    // Everything that left the agent, byte for byte (the sent log): a code and counts, no canary, no path.
    const db = createClient({ url: `file:${join(stateDir(), 'agent.db')}` });
    try {
      const sent = (await db.execute('SELECT url, body FROM sent_log')).rows;
      expect(sent.length).toBeGreaterThan(0);
      const bytes = sent.map(
        (r) => `${r.url} ${Buffer.from(String(r.body ?? ''), 'base64').toString('utf8')}`,
      );
      expect(bytes.some((b) => b.includes('labels-unreadable'))).toBe(true);
      for (const b of bytes) {
        expect(b).not.toContain(CANARY);
        expect(b).not.toContain(dir);
      }
    } finally {
      db.close();
    }
  }, 120_000);

  it('while that agent runs in polling mode, `cairn agent run --once` on its state refuses (run-lock), and runs once it stopped', async () => {
    const controller = new AbortController();
    const running = runAgent({
      stateDir: stateDir(),
      once: false,
      overrides: { pollSeconds: 1 },
      signal: controller.signal,
    });
    try {
      const deadline = Date.now() + 10_000;
      while (!existsSync(runLockPath(stateDir())) && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      const second = await runCairn(['agent', 'run', '--once', '--state', stateDir()]);
      expect(second.status).toBe(1);
      expect(second.stderr).toContain(`another \`cairn agent run\` (pid ${process.pid})`);
    } finally {
      controller.abort();
    }
    await running;
    expect(existsSync(runLockPath(stateDir()))).toBe(false);
    const after = await runCairn(['agent', 'run', '--once', '--state', stateDir()]);
    expect(after.status).toBe(0);
  }, 60_000);
});
