import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDemoNetwork } from '../../cli/demo/generate-network.ts';
import { governanceLines } from '../../cli/demo/governance-ending.ts';
import { runScenario, type ScenarioRun } from '../../cli/demo/run-scenario.ts';
import { Comparison } from '../../schemas/comparison.ts';
import { Rng } from '../../synthetic/rng.ts';
import { CanaryScanner, describeHits } from '../support/canary-scanner.ts';
import { runCairnSync } from '../support/cli-runner.ts';
import { filesUnder } from '../support/files.ts';
import { Haystacks } from '../support/haystacks.ts';
import { CanaryFactory } from '../support/phi-canaries.ts';

/**
 * The whole loop for real: synthetic hospitals with canary PHI, the cloud and two agents as separate
 * processes over HTTP, and then a search of every byte that left the agents or was stored by the cloud.
 */

const factory = new CanaryFactory(new Rng(1));
let runDir: string;
let run: ScenarioRun;

/**
 * Every free-text PHI value the generator writes is replaced by a unique, greppable canary (short enough for
 * SH's 16 characters). Dates, times, ages and UIDs keep the generator's valid values; those are collected from
 * what it reports having written.
 */
function canary(site: string, tag: string): string | undefined {
  if (/(UID|Date|Time|Age|Sex)$/.test(tag)) return undefined;
  return factory.numbered(tag, `site ${site}`);
}

beforeAll(async () => {
  runDir = mkdtempSync(join(tmpdir(), 'cairn-e2e-'));
  const sites = [
    {
      id: 'alpha',
      region: 'east',
      studies: 36,
      prevalence: 0.4,
      manufacturer: 'SIEMENS',
      scannerModel: 'A',
      institution: 'Alpha Hospital',
      noiseHu: 12,
      nodule: { minHu: 25, maxHu: 60 },
      badInputs: true,
    },
    {
      id: 'beta',
      region: 'west',
      studies: 30,
      prevalence: 0.35,
      manufacturer: 'GE MEDICAL SYSTEMS',
      scannerModel: 'B',
      institution: 'Beta Hospital',
      noiseHu: 20,
      nodule: { minHu: 20, maxHu: 55 },
      signedPixels: true,
    },
  ].map((s) => ({ ...s, phi: (tag: string) => canary(s.id, tag) }));
  const phiValues: string[] = [];
  const scenarioFile = await generateDemoNetwork(
    join(runDir, 'input'),
    () => {},
    sites,
    (_site, values) => phiValues.push(...values),
  );
  // Eight characters and more (generated() keeps no shorter one): a date, a time or a UID cannot match by
  // chance; M/F or an age could.
  for (const v of phiValues) factory.generated(v, undefined, 'generated');
  run = await runScenario({ scenarioFile, outDir: join(runDir, 'out'), say: () => {} });
}, 300_000);

afterAll(() => {
  if (runDir) rmSync(runDir, { recursive: true, force: true });
});

describe('a network of one cloud and two agents over HTTP', () => {
  it('writes a comparison with per-site, per-region and overall results for both model versions', () => {
    const file = Comparison.parse(JSON.parse(readFileSync(join(runDir, 'out', 'comparison.json'), 'utf8')));
    expect(file.models.map((m) => m.version).sort()).toEqual(['1.0.0', '2.0.0']);
    for (const m of file.models) {
      expect(m.sites.map((s) => s.site).sort()).toEqual(['alpha', 'beta']);
      expect(m.regions.map((r) => r.region).sort()).toEqual(['east', 'west']);
      expect(m.overall.auc.k).toBe(2);
      for (const s of m.sites) {
        expect(s.status).toBe('pooled');
        expect(s.cases).toBe(s.positives! + s.negatives!);
        expect(s.auc!.estimate).toBeGreaterThan(0.5);
        // One labelled study is left out of each labels.csv by the generator.
        expect(s.excluded['no-label']).toBe(1);
      }
    }
    const alpha = file.models[0]!.sites.find((s) => s.site === 'alpha')!;
    for (const reason of [
      'not-dicom',
      'truncated',
      'no-pixel-data',
      'unsupported-transfer-syntax',
      'modality-mismatch',
      'body-part-mismatch',
    ])
      expect(alpha.excluded[reason as keyof typeof alpha.excluded], reason).toBeGreaterThan(0);
    expect(run.comparison.models.length).toBe(2);
    // Each agent compared the two versions on the same cases (paired DeLong), so the cloud's A-vs-B
    // comparison is within-site paired at both sites.
    expect(file.contrasts).toHaveLength(1);
    expect(file.contrasts?.[0]).toMatchObject({ kPaired: 2, kUnpaired: 0 });
  });

  it('ends with the rollout state each version’s verdict reached per region, and each version’s evaluation report', () => {
    const reached = { pass: 'recommended', fail: 'not-recommended', inconclusive: 'evaluating' } as const;
    const lines = governanceLines(run.governance);
    for (const m of run.comparison.models)
      for (const r of m.regions) {
        const rollout = run.governance.rollouts.find(
          (x) => x.modelId === m.modelId && x.regionId === r.region,
        );
        const state = reached[r.verdict?.verdict ?? 'inconclusive'];
        expect(rollout?.state, `${m.version} ${r.region}`).toBe(state);
        expect(lines).toContain(
          `  ${m.vendor}/${m.name}@${m.version} in ${r.region}: ${rollout?.state}${rollout?.verdict ? ` (verdict ${rollout.verdict})` : ''}`,
        );
      }
    const pdf = existsSync('/usr/bin/chromium') && !process.env.CAIRN_CHROMIUM;
    for (const m of run.comparison.models) {
      const base = join(runDir, 'out', 'evaluation-reports', `${m.vendor}-${m.name}-${m.version}`);
      const report = JSON.parse(readFileSync(`${base}.json`, 'utf8'));
      expect(report).toMatchObject({ schema: 'cairn.evaluation-report/v1', device: { sha256: m.sha256 } });
      expect(readFileSync(`${base}.html`, 'utf8')).toContain(m.sha256);
      if (pdf) expect(readFileSync(`${base}.pdf`).subarray(0, 5).toString('latin1')).toBe('%PDF-');
      for (const f of [`${base}.html`, `${base}.json`, ...(pdf ? [`${base}.pdf`] : [])])
        expect(lines).toContain(`  ${f}`);
    }
  });

  it('stores reports that carry calibration and gated subgroups read from the DICOM headers', async () => {
    const db = createClient({ url: `file:${join(runDir, 'out', 'cloud', 'cairn.db')}` });
    const rows = await db.execute('SELECT report FROM reports');
    db.close();
    expect(rows.rows).toHaveLength(4);
    for (const row of rows.rows) {
      const report = JSON.parse(String(row.report));
      expect(report.calibration.brier).toBeGreaterThan(0);
      const attributes = new Set(report.subgroups.map((g: { attribute: string }) => g.attribute));
      for (const a of ['sex', 'ageBand', 'manufacturer', 'scannerModel', 'bodyPart'])
        expect(attributes, a).toContain(a);
      for (const g of report.subgroups) expect(g.cases === 0 || g.cases >= report.minCell).toBe(true);
    }
  });

  it('keeps the cloud’s data and each agent’s state under the output folder', () => {
    const out = join(runDir, 'out');
    expect(statSync(join(out, 'cloud', 'cairn.db')).isFile()).toBe(true);
    for (const site of ['alpha', 'beta'])
      expect(statSync(join(out, 'sites', site, 'agent.db')).isFile()).toBe(true);
    // The private key's file is readable by its owner only.
    expect(statSync(join(out, 'sites', 'alpha', 'agent.db')).mode & 0o077).toBe(0);
  });

  it('lets no PHI canary appear in any byte an agent sent or the cloud stored', async () => {
    expect(factory.all.size).toBeGreaterThan(100);
    // Positive control: the canaries really are in the hospitals' DICOM, so their absence below means something.
    const inputs = filesUnder(join(runDir, 'input', 'hospitals'))
      .map((f) => readFileSync(f, 'latin1'))
      .join('\n');
    const planted = [...factory.all.values()].filter((c) => inputs.includes(c.value));
    expect(planted.length).toBeGreaterThan(0.95 * factory.all.size);
    const haystacks = new Haystacks();
    for (const file of filesUnder(join(runDir, 'out', 'cloud'))) haystacks.add(file, readFileSync(file));
    for (const file of filesUnder(join(runDir, 'out', 'evaluation-reports')))
      haystacks.add(file, readFileSync(file));
    for (const site of ['alpha', 'beta']) {
      const db = createClient({ url: `file:${join(runDir, 'out', 'sites', site, 'agent.db')}` });
      const rows = await db.execute('SELECT url, body FROM sent_log');
      expect(rows.rows.length).toBeGreaterThan(0);
      for (const row of rows.rows) {
        const body = row.body ? Buffer.from(String(row.body), 'base64') : Buffer.alloc(0);
        // Envelopes carry the report as base64: the scanner looks inside base64 runs too.
        haystacks.add(`${site} sent ${row.url}`, Buffer.concat([Buffer.from(`${row.url}\n`), body]));
      }
      db.close();
    }
    const hits = haystacks.scan(new CanaryScanner(planted));
    if (hits.length) throw new Error(describeHits(hits));
  });

  it('refuses a replayed envelope and stores the report once', async () => {
    const db = createClient({ url: `file:${join(runDir, 'out', 'sites', 'alpha', 'agent.db')}` });
    const row = (
      await db.execute("SELECT body FROM sent_log WHERE url LIKE '%/v1/reports' AND status = 202 LIMIT 1")
    ).rows[0];
    db.close();
    expect(row).toBeDefined();
    const cloud = await import('../../cli/demo/cloud-process.ts').then((m) =>
      m.startCloudProcess(join(runDir, 'out', 'cloud')),
    );
    try {
      const token = readFileSync(cloud.adminTokenPath, 'utf8').trim();
      const siteDb = createClient({ url: `file:${join(runDir, 'out', 'sites', 'alpha', 'agent.db')}` });
      const apiToken = String((await siteDb.execute('SELECT api_token FROM identity')).rows[0]!.api_token);
      siteDb.close();
      const res = await fetch(`${cloud.url}/v1/reports`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiToken}` },
        body: Buffer.from(String(row!.body), 'base64'),
      });
      expect(res.status).toBe(409);
      const comparison = await fetch(`${cloud.url}/v1/campaigns/${run.campaignId}/comparison`, {
        headers: { authorization: `Bearer ${token}` },
      }).then((r) => r.json() as Promise<Comparison>);
      for (const m of comparison.models) expect(m.sites.filter((s) => s.site === 'alpha')).toHaveLength(1);
    } finally {
      await cloud.stop();
    }
  });

  it('prints one clear line and exits non-zero for a bad scenario', () => {
    const res = runCairnSync([
      'demo',
      '--scenario',
      join(runDir, 'missing.json'),
      '--out',
      join(runDir, 'x'),
    ]);
    expect(res.status).toBe(1);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(/^cairn: scenario .*missing\.json: no such file/);
  });
});
