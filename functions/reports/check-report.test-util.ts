import { privacyGate } from '../../edge-agent/privacy/gate.ts';
import { buildSiteReport } from '../../edge-agent/report/site-report.ts';
import type { SiteReport } from '../../schemas/site-report.ts';
import { wilson } from '../../stats/binomial.ts';
import { equalWidthEdges } from '../../stats/histogram.ts';
import { seededRandom } from '../../test/support/oracles.ts';
import { siteReport } from '../test-fixtures.ts';
import { type CampaignRules, checkReport } from './check-report.ts';

/** Reports for the checker's tests: the test fixture's, the agent's own (gated or not), a withheld one. */
export const EDGES = equalWidthEdges(20);
export const CAMPAIGN: CampaignRules = { binEdges: EDGES, minCell: 3 };
export const IDS = {
  campaignId: 'camp_1',
  jobId: 'job_1',
  siteId: 'site-a',
  model: { vendor: 'acme', name: 'cxr', version: '1.0.0', sha256: 'a'.repeat(64) },
};

export const base = () => siteReport(IDS);
export const codeOf = (r: SiteReport, campaign = CAMPAIGN) => {
  const c = checkReport(r, campaign);
  return c.ok ? 'ok' : c.code;
};
export const prop = (x: number, n: number) => ({
  ...(wilson(x, n) as { estimate: number; ciLow: number; ciHigh: number }),
  numerator: x,
  denominator: n,
  method: 'wilson' as const,
});
export const nullProp = (reason: 'suppressed' | 'insufficient-class-size') => ({
  estimate: null,
  ciLow: null,
  ciHigh: null,
  numerator: null,
  denominator: null,
  method: 'wilson' as const,
  reason,
});

/** A report of 3 positives (below k = 5) and 30 negatives, withheld the way the gate withholds it. */
export function withheldPositives(): SiteReport {
  const r = base();
  const negatives = new Array(20).fill(0);
  negatives[4] = 30;
  return {
    ...r,
    minCell: 5,
    cases: null,
    positives: null,
    negatives: 30,
    withheld: { reason: 'insufficient-class-size', classes: ['positives'] },
    confusion: { tp: null, fn: null, fp: 5, tn: 25 },
    sensitivity: nullProp('insufficient-class-size'),
    specificity: prop(25, 30),
    ppv: nullProp('insufficient-class-size'),
    npv: nullProp('insufficient-class-size'),
    auc: {
      estimate: null,
      se: null,
      ciLow: null,
      ciHigh: null,
      method: 'delong',
      reason: 'insufficient-class-size',
    },
    histogram: { edges: EDGES, positives: null, negatives },
    suppressed: ['confusion.tp', 'confusion.fn', 'sensitivity', 'ppv', 'npv'],
  };
}

/** A report the agent's own code builds (and, unless `raw`, gates at k = 5): `n` studies with subgroups. */
export function agentReport(seed: number, n: number, opts: { raw?: boolean; dp?: boolean } = {}): SiteReport {
  const rand = seededRandom(seed);
  const outcomes = Array.from({ length: n }, () => {
    const label = rand() < 0.3 ? 1 : 0;
    return {
      score: Math.min(1, Math.max(0, (label ? 0.65 : 0.35) + (rand() - 0.5) * 0.8)),
      label: label as 0 | 1,
      attributes: { sex: rand() < 0.5 ? 'F' : 'M', manufacturer: ['GE', 'SIEMENS', 'AGFA'][seed % 3] ?? '' },
    };
  });
  const raw = buildSiteReport({
    reportId: '2f1b6c1e-8a4d-4c1e-9b1a-3c5d7e9f0a12',
    ...IDS,
    agentVersion: '0.1.0',
    threshold: 0.5,
    binEdges: EDGES,
    outcomes,
    excluded: {},
    images: { seen: n, used: n },
  });
  if (opts.raw) return raw;
  return privacyGate(raw, {
    minCell: 5,
    ...(opts.dp ? { dp: { epsilon: 1, random: fixedRandom(seed) } } : {}),
  });
}

/** A seeded uniform integer source for the DP sampler. */
export function fixedRandom(seed: number) {
  const rand = seededRandom(seed);
  return (max: number) => Math.floor(rand() * max);
}

export const K5 = { binEdges: EDGES, minCell: 5 };

/** A subgroup of the withheld report's 30 negatives, all of them. */
export function negativesOnlyGroup(): NonNullable<SiteReport['subgroups']>[number] {
  const empty = { ...nullProp('suppressed'), numerator: 0, denominator: 0, reason: 'no-positives' as const };
  return {
    attribute: 'sex',
    value: 'F',
    cases: 30,
    positives: 0,
    negatives: 30,
    confusion: { tp: 0, fn: 0, fp: 5, tn: 25 },
    sensitivity: empty,
    specificity: prop(25, 30),
    ppv: prop(0, 5),
    npv: prop(25, 25),
    auc: { estimate: null, se: null, ciLow: null, ciHigh: null, method: 'delong', reason: 'no-positives' },
    suppressed: [],
  };
}
