/**
 * `node --import tsx bench/check-report.ts`: what the cloud's own report check costs (functions/reports/
 * check-report.ts) on a report built and gated by the agent's code — 2000 studies, five subgroup attributes,
 * 20 bins — and what the comparison costs with the check on every stored row (200 sites, read back as JSON
 * text like the route does). Not a test: timings depend on the machine.
 */

import { privacyGate } from '../edge-agent/privacy/gate.ts';
import { buildSiteReport } from '../edge-agent/report/site-report.ts';
import { buildComparison } from '../functions/comparison/build-comparison.ts';
import { comparedFromStored } from '../functions/comparison/stored-report.ts';
import { checkReport } from '../functions/reports/check-report.ts';
import { equalWidthEdges } from '../stats/histogram.ts';
import { seededRandom } from '../test/support/oracles.ts';

const EDGES = equalWidthEdges(20);
const CAMPAIGN = { binEdges: EDGES, minCell: 5 };
const model = { vendor: 'acme', name: 'cxr', version: '1.0.0', sha256: 'a'.repeat(64) };

function gatedReport(seed: number, n: number) {
  const rand = seededRandom(seed);
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)] as T;
  const outcomes = Array.from({ length: n }, () => {
    const label = (rand() < 0.3 ? 1 : 0) as 0 | 1;
    return {
      score: Math.min(1, Math.max(0, (label ? 0.65 : 0.35) + (rand() - 0.5) * 0.8)),
      label,
      attributes: {
        sex: pick(['F', 'M']),
        age: String(Math.floor(rand() * 90)),
        manufacturer: pick(['GE', 'SIEMENS', 'AGFA', 'FUJI']),
        scannerModel: pick(['A1', 'B2', 'C3']),
        bodyPart: pick(['CHEST', 'ABDOMEN']),
      },
    };
  });
  const raw = buildSiteReport({
    reportId: '2f1b6c1e-8a4d-4c1e-9b1a-3c5d7e9f0a12',
    campaignId: 'camp_1',
    jobId: `job_${seed}`,
    siteId: `site-${seed}`,
    model,
    agentVersion: '0.1.0',
    threshold: 0.5,
    binEdges: EDGES,
    outcomes,
    excluded: {},
    images: { seen: n, used: n },
  });
  return privacyGate(raw, { minCell: 5 });
}

function time(label: string, reps: number, work: () => void): void {
  work();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < reps; i++) work();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6 / reps;
  console.log(`${label.padEnd(58)} ${ms.toFixed(3).padStart(9)} ms`);
}

const one = gatedReport(1, 2000);
console.log(`report: ${one.subgroups?.length ?? 0} subgroups, ${one.histogram.edges.length - 1} bins`);
time('checkReport, one gated report', 2000, () => {
  if (!checkReport(one, CAMPAIGN).ok) throw new Error('the gated report failed the check');
});

const rows = Array.from({ length: 200 }, (_, i) => ({
  reportId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  modelId: 'mdl_1',
  siteId: `site-${i}`,
  regionId: `region-${i % 5}`,
  report: JSON.stringify(gatedReport(i + 1, 300 + (i % 7) * 100)),
  voidedAt: null,
  voidReason: null,
}));
const models = [{ modelId: 'mdl_1', ...model }];
time('comparison of 200 sites, without the check (parse only)', 5, () => {
  buildComparison({
    generatedAt: new Date(),
    models,
    reports: rows.map((r) => ({ ...r, report: JSON.parse(r.report) })),
  });
});
time('comparison of 200 sites, every row checked as read back', 5, () => {
  buildComparison({
    generatedAt: new Date(),
    models,
    reports: rows.map((r) => comparedFromStored(r, CAMPAIGN)),
  });
});
