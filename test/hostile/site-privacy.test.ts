import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudApi } from '../../client/cloud-api.ts';
import type { ServedCloud } from '../../functions/serve.ts';
import { SiteReport } from '../../schemas/site-report.ts';
import { writeSyntheticSite } from '../../synthetic/dicom.ts';
import { runCairn } from '../support/cli-runner.ts';
import { enrollArgs, startDemoNetwork } from './demo-network.test-util.ts';

/**
 * Hostile suite, site privacy (engineer A). Both attacks of the issue, end to end: a real cloud over HTTP and
 * the hospital's `cairn agent` processes.
 *
 * 1. Identifier columns: a campaign asks for subgroups by labels.csv columns PatientName and MRN (one
 *    patient's six studies share DOE^JOHN / MRN00424242, so a group of 6 would pass k = 5) under a demo-style
 *    auto-approve policy. The site allow-listed PatientName and insurance, not MRN.
 *    The scanner's model name header holds a serial number a technician typed (DICOM free text).
 * 2. Small class: a site with 3 positives at k = 5 (held, reviewed, approved) must not release the 3, nor
 *    anything it can be derived from.
 */

const K = 5;
const PATIENT = 'DOE^JOHN';
const MRN = 'MRN00424242';

let dir: string;
let cloud: ServedCloud;
let coordinator: CloudApi;
let modelId: string;
const state = (site: string) => join(dir, 'agents', site);

async function cli(args: string[]) {
  const r = await runCairn(args);
  if (r.status !== 0) throw new Error(`cairn ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r;
}

async function storedReports(campaignId: string): Promise<SiteReport[]> {
  const db = createClient({ url: `file:${join(dir, 'cloud', 'cairn.db')}` });
  try {
    const rows = await db.execute({
      sql: 'SELECT report FROM reports WHERE campaign_id = ?',
      args: [campaignId],
    });
    return rows.rows.map((r) => SiteReport.parse(JSON.parse(String(r.report))));
  } finally {
    db.close();
  }
}

async function waitForDone(campaignId: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const c = await coordinator.json<{ jobs: { status: string }[] }>('GET', `/v1/campaigns/${campaignId}`);
    if (c.jobs.every((j) => j.status === 'done')) return;
    if (Date.now() > deadline) throw new Error(`campaign ${campaignId}: jobs not done within 20 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every byte of the cloud's data folder (database, WAL, blobs, logs). */
function cloudBytes(): string {
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(d, e.name)) : e.isFile() ? [join(d, e.name)] : [],
    );
  return walk(join(dir, 'cloud'))
    .map((f) => readFileSync(f).toString('latin1'))
    .join('\n');
}

/** A site with its labels.csv rewritten by `edit` (header and rows of StudyInstanceUID,label,comment). */
async function site(id: string, seed: number, edit: (rows: string[][]) => string[][], scannerModel = 'X') {
  const s = await writeSyntheticSite(
    {
      siteId: id,
      seed,
      studies: 24,
      prevalence: 0.45,
      manufacturer: 'SIEMENS',
      scannerModel,
      institution: id,
      noiseHu: 12,
      nodule: { minHu: 25, maxHu: 60 },
      slicesPerStudy: [2, 2],
    },
    join(dir, id),
  );
  const rows = readFileSync(s.labelsPath, 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(','));
  writeFileSync(
    s.labelsPath,
    `${edit(rows)
      .map((r) => r.join(','))
      .join('\n')}\n`,
  );
  return s;
}

async function enroll(id: string, extra: string[]) {
  const { token } = await coordinator.json<{ token: string }>('POST', `/v1/sites/${id}/enrollment-tokens`, {
    json: {},
  });
  return cli(
    enrollArgs({
      cloudUrl: cloud.url,
      token,
      dicom: join(dir, id, 'dicom'),
      labels: join(dir, id, 'labels.csv'),
      state: state(id),
      extra,
    }),
  );
}

async function campaign(siteId: string, subgroupAttributes: string[]): Promise<string> {
  const c = await coordinator.json<{ campaignId: string }>('POST', '/v1/campaigns', {
    json: {
      name: `hostile ${siteId}`,
      modelIds: [modelId],
      siteIds: [siteId],
      bins: 10,
      minCell: K,
      subgroupAttributes,
    },
  });
  return c.campaignId;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cairn-hostile-site-'));
  ({ cloud, coordinator, modelId } = await startDemoNetwork(dir, ['alpha', 'beta']));
}, 120_000);

afterAll(async () => {
  await cloud?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('hostile: patient identifiers through campaign subgroup columns', () => {
  it('refuses PatientName and a typed-in scanner serial (identifier-shape) and MRN (not-allow-listed), names them, and the cloud gets none', async () => {
    await site(
      'alpha',
      11,
      ([header, ...rows]) => [
        [...(header as string[]), 'PatientName', 'MRN', 'insurance'],
        // Six studies of one patient, the others each their own: a group of 6 passes k = 5.
        ...rows.map((r, i) => [
          ...r,
          i < 6 ? PATIENT : `ROE^JANE${i}`,
          i < 6 ? MRN : `MRN00${500000 + i}`,
          i % 2 ? 'PUBLIC' : 'PRIVATE',
        ]),
      ],
      'SN 4711234',
    );
    const policy = join(dir, 'demo-policy.json');
    writeFileSync(
      policy,
      JSON.stringify({
        schema: 'cairn.release-policy/v1',
        autoApprove: [{ campaign: '*', kind: 'evaluation', minCellAtLeast: K }],
      }),
    );
    const enrolled = await enroll('alpha', [
      '--release-columns',
      'insurance,PatientName',
      '--release-policy',
      policy,
    ]);
    expect(enrolled.stdout).toContain('subgroups by: insurance, PatientName');
    const campaignId = await campaign('alpha', ['PatientName', 'MRN', 'insurance']);
    const run = await cli(['agent', 'run', '--once', '--state', state('alpha')]);
    expect(run.stderr).toContain('approved by the site policy');
    await waitForDone(campaignId);

    const [report] = await storedReports(campaignId);
    const attributes = new Set(report?.subgroups?.map((g) => g.attribute));
    expect(attributes.has('insurance')).toBe(true);
    expect(attributes.has('PatientName')).toBe(false);
    expect(attributes.has('MRN')).toBe(false);
    const stored = cloudBytes();
    expect(attributes.has('scannerModel')).toBe(false);
    expect(attributes.has('manufacturer')).toBe(true);
    for (const leak of ['DOE', 'JOHN', 'JANE', MRN, '424242', 'MRN00', '4711234'])
      expect(stored).not.toContain(leak);

    const status = await cli(['agent', 'status', '--state', state('alpha')]);
    expect(status.stdout).toMatch(
      /subgroup columns refused for job .*: MRN \(not-allow-listed\), PatientName \(identifier-shape\), scannerModel \(identifier-shape\)/,
    );
    const json = JSON.parse(
      (await cli(['agent', 'status', '--state', state('alpha'), '--output', 'json'])).stdout,
    );
    expect(json.refusedColumns[0].columns).toEqual([
      { column: 'MRN', reason: 'not-allow-listed', source: 'labels' },
      { column: 'PatientName', reason: 'identifier-shape', source: 'labels' },
      { column: 'scannerModel', reason: 'identifier-shape', source: 'dicom' },
    ]);
    for (const out of [status.stdout, status.stderr, run.stdout, run.stderr])
      for (const leak of ['DOE', MRN]) expect(out).not.toContain(leak);
  }, 120_000);

  it('refuses a bad --release-columns at enroll with one line', async () => {
    const r = await runCairn([
      'agent',
      'enroll',
      '--cloud',
      cloud.url,
      '--token',
      'x',
      '--dicom',
      join(dir, 'alpha', 'dicom'),
      '--labels',
      join(dir, 'alpha', 'labels.csv'),
      '--release-columns',
      'insurance,"; DROP',
      '--state',
      join(dir, 'agents', 'nobody'),
    ]);
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^cairn: invalid settings: releaseColumns\.1: /);
  });
});

describe('hostile: a small class released as a count, an AUC and a histogram', () => {
  it('withholds 3 positives at k = 5 and everything they could be derived from, held and then approved', async () => {
    let positives = 0;
    await site('beta', 12, ([header, ...rows]) => [
      header as string[],
      ...rows.map((r) => {
        if (r[1] !== '1') return r;
        positives++;
        return positives <= 3 ? r : [r[0] as string, '0', 'relabelled'];
      }),
    ]);
    expect(positives).toBeGreaterThan(3);
    await enroll('beta', []);
    const campaignId = await campaign('beta', ['MRN']);
    const run = await cli(['agent', 'run', '--once', '--state', state('beta')]);
    expect(run.stderr).toContain('cases withheld (positives below the minimum cell size)');

    const review = await cli(['agent', 'review', '--state', state('beta')]);
    expect(review.stdout).toContain('cases withheld (positives withheld, negatives ');
    expect(review.stdout).toContain('withheld: positives (insufficient-class-size');
    expect(review.stdout).toContain('subgroup columns refused (not sent): MRN (not-allow-listed)');
    const [held] = JSON.parse(
      (await cli(['agent', 'review', '--state', state('beta'), '--output', 'json'])).stdout,
    );
    expect(held.refusedColumns).toEqual([{ column: 'MRN', reason: 'not-allow-listed', source: 'labels' }]);
    await cli(['agent', 'review', '--approve', held.reportId, '--state', state('beta')]);
    await cli(['agent', 'run', '--once', '--state', state('beta')]);
    await waitForDone(campaignId);

    const [r] = await storedReports(campaignId);
    if (!r) throw new Error('the cloud stored no report');
    expect(r.withheld).toEqual({ reason: 'insufficient-class-size', classes: ['positives'] });
    expect([r.cases, r.positives]).toEqual([null, null]);
    expect(r.negatives).toBeGreaterThanOrEqual(K);
    expect(r.images).toEqual({ seen: null, used: null });
    expect(r.histogram.positives).toBeNull();
    expect([r.confusion.tp, r.confusion.fn]).toEqual([null, null]);
    for (const m of [r.sensitivity, r.ppv, r.npv])
      expect(m).toMatchObject({ estimate: null, numerator: null });
    expect(r.auc).toMatchObject({ estimate: null, reason: 'insufficient-class-size' });
    expect(r.calibration).toMatchObject({ brier: null, reason: 'insufficient-class-size' });
    expect(r.subgroups).toBeUndefined();
    // No released number adds up to the 3: not cases − negatives, not a subgroup, not the image counts.
    expect(JSON.stringify(r)).not.toMatch(/"(positives|numerator|denominator|cases|tp|fn)":3\b/);
  }, 120_000);
});
