import { describe, expect, it } from 'vitest';
import { privacyGate } from '../../edge-agent/privacy/gate.ts';
import { buildSiteReport } from '../../edge-agent/report/site-report.ts';
import { Comparison } from '../../schemas/comparison.ts';
import { equalWidthEdges } from '../../stats/histogram.ts';
import { seededRandom } from '../../test/support/oracles.ts';
import { buildComparison } from './build-comparison.ts';
import { createCheckedRows } from './checked-rows.ts';
import { comparisonText } from './comparison-input.ts';
import { createPoolMemo } from './pool-memo.ts';
import { comparedFromStored, type StoredReportRow } from './stored-report.ts';

const EDGES = equalWidthEdges(10);
const CAMPAIGN = { binEdges: EDGES, minCell: 5 };
const model = { modelId: 'mdl_1', vendor: 'acme', name: 'cxr', version: '1.0.0', sha256: 'a'.repeat(64) };

/** Every path to a number (or null) in a JSON value. */
function leaves(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (typeof value === 'number' || value === null) return [path];
  if (Array.isArray(value)) return value.flatMap((v, i) => leaves(v, [...path, i]));
  if (typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, k]));
  return [];
}

function setAt(value: Record<string | number, unknown>, path: (string | number)[], v: unknown): void {
  let o = value;
  for (const key of path.slice(0, -1)) o = o[key] as Record<string | number, unknown>;
  o[path[path.length - 1] as string | number] = v;
}

const POISON = [1e308, -1, 0, 0.5, 1, 7, 1e9 + 1, 0.999999, null, 'x', -0.2];

/**
 * Sites of every size the agent meets (none, one class, a handful, hundreds), gated, some with DP, and then
 * most of them corrupted at a random number: whatever is stored, the comparison answers, and lists each row.
 */
function storedRows(count: number): StoredReportRow[] {
  const rand = seededRandom(99);
  return Array.from({ length: count }, (_, i) => {
    const n = [0, 3, 12, 40, 250][i % 5] as number;
    const prevalence = [0.3, 0, 1, 0.05][i % 4] as number;
    const outcomes = Array.from({ length: n }, () => {
      const label = (rand() < prevalence ? 1 : 0) as 0 | 1;
      return {
        score: Math.min(1, Math.max(0, label * 0.3 + rand() * 0.7)),
        label,
        attributes: { sex: rand() < 0.5 ? 'F' : 'M' },
      };
    });
    const raw = buildSiteReport({
      reportId: '2f1b6c1e-8a4d-4c1e-9b1a-3c5d7e9f0a12',
      campaignId: 'c',
      jobId: `j${i}`,
      siteId: `site-${i}`,
      model: { vendor: model.vendor, name: model.name, version: model.version, sha256: model.sha256 },
      agentVersion: '0.1.0',
      threshold: 0.5,
      binEdges: EDGES,
      outcomes,
      excluded: {},
      images: { seen: n, used: n },
    });
    const dp = i % 7 === 0 ? { dp: { epsilon: 2, random: (m: number) => Math.floor(rand() * m) } } : {};
    const report = JSON.parse(JSON.stringify(privacyGate(raw, { minCell: 5, ...dp })));
    if (i % 4 !== 0) {
      const paths = leaves(report);
      const path = paths[Math.floor(rand() * paths.length)];
      if (path) setAt(report, path, POISON[Math.floor(rand() * POISON.length)]);
    }
    return {
      reportId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      modelId: model.modelId,
      siteId: `site-${i}`,
      regionId: `region-${i % 3}`,
      report: i === 13 ? '{"truncated": ' : JSON.stringify(report),
      voidedAt: null,
      voidReason: null,
    };
  });
}

describe('comparedFromStored + buildComparison', () => {
  it('no stored row, whatever it holds, makes the comparison fail; each is listed; only clean rows pool', () => {
    const rows = storedRows(300);
    const compared = rows.map((r) => comparedFromStored(r, CAMPAIGN));
    const c = buildComparison({ generatedAt: new Date(), models: [model], reports: compared });
    const parsed = Comparison.safeParse(JSON.parse(JSON.stringify(c)));
    expect(parsed.success, JSON.stringify(parsed.error?.issues[0])).toBe(true);
    const sites = c.models[0]?.sites ?? [];
    expect(sites).toHaveLength(300);
    const by = (s: string) => sites.filter((x) => x.status === s).length;
    expect(by('invalid')).toBeGreaterThan(50);
    expect(by('pooled')).toBeGreaterThan(20);
    // The AUC pool has at most the pooled sites (those with an estimate and a positive se).
    expect(c.models[0]?.overall.auc.k).toBeLessThanOrEqual(by('pooled'));
    for (const s of sites.filter((x) => x.status === 'invalid')) expect(s.auc).toBeNull();
  });
});

describe('createCheckedRows', () => {
  const input = (rows: StoredReportRow[], campaign = CAMPAIGN) => ({
    campaignId: 'c',
    generatedAt: new Date('2026-12-01T00:00:00Z'),
    models: [model],
    rows,
    campaign,
    contrasts: 'all' as const,
  });

  it('a row checked before gives what checking it afresh gives, also once its text or the rules change', () => {
    const rows = storedRows(60);
    const checks = createCheckedRows();
    const fresh = comparisonText(input(rows));
    expect(comparisonText(input(rows), checks)).toBe(fresh);
    expect(comparisonText(input(rows), checks)).toBe(fresh);

    // A clean row rewritten in place (same report id) around the API with a cell in 1..minCell−1.
    const clean = rows.findIndex((r, i) => i % 4 === 0 && JSON.parse(r.report as string).confusion.tp > 5);
    const broken = JSON.parse(rows[clean]?.report as string);
    broken.confusion.tp = 2;
    const rewritten = rows.map((r, i) => (i === clean ? { ...r, report: JSON.stringify(broken) } : r));
    const after = comparisonText(input(rewritten), checks);
    expect(after).toBe(comparisonText(input(rewritten)));
    expect(after).not.toBe(fresh);
    const row = JSON.parse(after).models[0].sites.find((s: { site: string }) => s.site === `site-${clean}`);
    expect(row.status).toBe('invalid');

    const stricter = { binEdges: EDGES, minCell: 50 };
    expect(comparisonText(input(rows, stricter), checks)).toBe(comparisonText(input(rows, stricter)));
  });

  it('pools kept from a build give, after a void and a new report, what pooling afresh gives', () => {
    const rows = storedRows(60);
    const checks = createCheckedRows();
    const memo = createPoolMemo();
    expect(comparisonText(input(rows), checks, memo)).toBe(comparisonText(input(rows)));
    const pooledAt = rows.findIndex((r, i) => i % 4 === 0 && JSON.parse(r.report as string).positives > 5);
    const voided = rows.map((r, i) =>
      i === pooledAt ? { ...r, voidedAt: new Date('2026-12-02T00:00:00Z'), voidReason: 'relabelled' } : r,
    );
    const rebuilt = comparisonText(input(voided), checks, memo);
    expect(rebuilt).toBe(comparisonText(input(voided)));
    expect(JSON.parse(rebuilt).models[0].overall).not.toEqual(
      JSON.parse(comparisonText(input(rows))).models[0].overall,
    );
    const added = [
      ...voided,
      { ...(rows[pooledAt] as StoredReportRow), reportId: '00000000-0000-4000-8000-999999999999' },
    ];
    expect(comparisonText(input(added), checks, memo)).toBe(comparisonText(input(added)));
  });
});
