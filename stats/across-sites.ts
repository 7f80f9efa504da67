/**
 * Across-site statistics beyond per-metric pooling: the pooled binned ROC (summed histograms) and the
 * within-site-first comparison of two models (STATISTICS.md "Across sites").
 */
import { binnedAuc } from './histogram.ts';
import { type MetaOptions, type MetaTest, randomEffects, type TauMethod } from './meta.ts';
import { pnorm } from './normal.ts';
import type { AucResult } from './roc.ts';
import { pt } from './t.ts';

export interface Histogram {
  edges: readonly number[];
  positives: readonly number[];
  negatives: readonly number[];
}

/** A site histogram with both classes released, or null when a class was withheld (it cannot be pooled). */
export function releasedHistogram(h: {
  edges: readonly number[];
  positives: readonly number[] | null;
  negatives: readonly number[] | null;
}): Histogram | null {
  return h.positives === null || h.negatives === null
    ? null
    : { edges: h.edges, positives: h.positives, negatives: h.negatives };
}

/**
 * Sums per-site score histograms. Sites share the campaign's edges, but the privacy gate may have merged
 * adjacent bins differently at each site; the sum is therefore taken on the edges every site kept (the
 * coarsest common refinement, itself a subset of the campaign edges): each site's bins are first added up
 * within those common bins. Throws when the sites' outer edges differ (different campaigns).
 */
export function sumHistograms(hists: readonly Histogram[]): Histogram | null {
  if (hists.length === 0) return null;
  const first = hists[0] as Histogram;
  const lo = first.edges[0] as number;
  const hi = first.edges[first.edges.length - 1] as number;
  let common = new Set(first.edges);
  for (const h of hists) {
    if (h.edges[0] !== lo || h.edges[h.edges.length - 1] !== hi) {
      throw new RangeError('histograms to pool must share their first and last edges');
    }
    // Most sites keep the campaign's edges as they are: nothing to intersect then.
    if (sameEdges(h.edges, first.edges)) continue;
    const mine = new Set(h.edges);
    common = new Set([...common].filter((e) => mine.has(e)));
  }
  const edges = [...common].sort((a, b) => a - b);
  const bins = edges.length - 1;
  const positives = new Array<number>(bins).fill(0);
  const negatives = new Array<number>(bins).fill(0);
  for (const h of hists) {
    let g = 0;
    for (let b = 0; b + 1 < h.edges.length; b++) {
      while ((h.edges[b] as number) >= (edges[g + 1] as number)) g++;
      positives[g] = (positives[g] as number) + (h.positives[b] as number);
      negatives[g] = (negatives[g] as number) + (h.negatives[b] as number);
    }
  }
  return { edges, positives, negatives };
}

function sameEdges(a: readonly number[], b: readonly number[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Pooled binned ROC across sites: the per-site histograms summed on common edges (sumHistograms), then the
 * exact AUC and DeLong variance of those binned scores (binnedAuc). This treats the pooled cases as one
 * sample: it answers "the AUC over all patients", not the random-effects mean of the site AUCs.
 */
export function pooledBinnedAuc(
  hists: readonly Histogram[],
  level = 0.95,
): { histogram: Histogram | null; auc: AucResult } {
  const histogram = sumHistograms(hists);
  if (histogram === null) return { histogram, auc: { estimate: null, reason: 'empty', m: 0, n: 0 } };
  return { histogram, auc: binnedAuc(histogram.positives, histogram.negatives, level) };
}

/** What one site contributes to an A-vs-B comparison. */
export interface SiteContrastInput {
  /** Paired DeLong difference aucA − aucB and its SE, computed at the site on the same cases. */
  paired?: { difference: number | null; se: number | null } | null;
  /** The two models' separate AUCs at the site (used when no paired result exists). */
  aucA?: { estimate: number | null; se: number | null } | null;
  aucB?: { estimate: number | null; se: number | null } | null;
}

export interface ModelContrast {
  /** Pooled AUC difference A − B (AUC scale); null with a reason when no site contributes. */
  estimate: number | null;
  se: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  /** z (test 'z') or t with k − 1 df (test 'knha'). */
  statistic: number | null;
  p: number | null;
  tau2: number | null;
  i2: number | null;
  k: number;
  /** Sites contributing a paired (same cases) difference, and sites contributing var A + var B. */
  kPaired: number;
  kUnpaired: number;
  method: TauMethod;
  test: MetaTest;
  predictionLow: number | null;
  predictionHigh: number | null;
  reason?: string;
}

/**
 * Model A vs model B across sites, within each site first (STATISTICS.md): each site's AUC difference
 * d_i = θA − θB with variance from the paired DeLong comparison (Var = L S Lᵀ, which accounts for the
 * correlation of two models scored on the same cases); a site with only separate, unpaired AUCs contributes
 * d_i with Var = Var A + Var B (conservative when the models are positively correlated, as on the same
 * patients — kUnpaired says how many sites did so). The d_i are then pooled by random effects on the AUC
 * difference scale (DL/REML, optional Knapp–Hartung), with a two-sided test of no difference:
 * p = 2Φ(−|μ̂/SE|), or 2·P(T_{k−1} > |μ̂/SE|) with Knapp–Hartung. Sites whose difference or variance is
 * missing or zero are left out.
 */
export function compareModelsAcrossSites(
  sites: readonly SiteContrastInput[],
  opts: MetaOptions = {},
): ModelContrast {
  const sample = differenceSample();
  for (const s of sites)
    addSiteDifference(
      sample,
      s.paired?.difference ?? null,
      s.paired?.se ?? null,
      s.aucA?.estimate ?? null,
      s.aucA?.se ?? null,
      s.aucB?.estimate ?? null,
      s.aucB?.se ?? null,
    );
  return contrastFromSample(sample, opts);
}

/** The sites' AUC differences d_i = θA − θB and their variances, as collected for one contrast. */
export interface DifferenceSample {
  yi: number[];
  vi: number[];
  kPaired: number;
  kUnpaired: number;
}

export function differenceSample(): DifferenceSample {
  return { yi: [], vi: [], kPaired: 0, kUnpaired: 0 };
}

/**
 * Adds one site to a contrast (compareModelsAcrossSites's rule, in scalars so that a comparison of many pairs
 * allocates nothing per site): its paired difference when there is one with a positive SE, else A's and B's
 * separate AUCs with Var A + Var B when all four numbers are there and the variance is positive; else nothing.
 */
export function addSiteDifference(
  out: DifferenceSample,
  pairedDifference: number | null,
  pairedSe: number | null,
  estimateA: number | null,
  seA: number | null,
  estimateB: number | null,
  seB: number | null,
): void {
  if (pairedDifference !== null && pairedSe !== null && pairedSe > 0) {
    out.yi.push(pairedDifference);
    out.vi.push(pairedSe * pairedSe);
    out.kPaired++;
    return;
  }
  if (estimateA === null || estimateB === null || seA === null || seB === null) return;
  const v = seA * seA + seB * seB;
  if (!(v > 0)) return;
  out.yi.push(estimateA - estimateB);
  out.vi.push(v);
  out.kUnpaired++;
}

/** The random-effects pool of a contrast's site differences (compareModelsAcrossSites). */
export function contrastFromSample(sample: DifferenceSample, opts: MetaOptions = {}): ModelContrast {
  const method = opts.method ?? 'DL';
  const test = opts.test ?? 'z';
  const { yi, vi, kPaired, kUnpaired } = sample;
  const k = yi.length;
  const empty: ModelContrast = {
    estimate: null,
    se: null,
    ciLow: null,
    ciHigh: null,
    statistic: null,
    p: null,
    tau2: null,
    i2: null,
    k,
    kPaired,
    kUnpaired,
    method,
    test,
    predictionLow: null,
    predictionHigh: null,
  };
  if (k === 0) return { ...empty, reason: 'no site has an AUC difference with a positive variance' };
  if (test === 'knha' && k < 2) {
    return {
      ...empty,
      estimate: yi[0] as number,
      tau2: 0,
      i2: 0,
      reason: 'the Knapp–Hartung interval needs at least 2 sites',
    };
  }
  const r = randomEffects(yi, vi, opts);
  // se is 0 only when every difference is identical under Knapp–Hartung: no test statistic then.
  const statistic = r.se > 0 ? r.estimate / r.se : null;
  const p =
    statistic === null
      ? null
      : r.df === null
        ? 2 * pnorm(-Math.abs(statistic))
        : 2 * pt(-Math.abs(statistic), r.df);
  return {
    ...empty,
    estimate: r.estimate,
    se: r.se,
    ciLow: r.ciLow,
    ciHigh: r.ciHigh,
    statistic,
    p,
    tau2: r.tau2,
    i2: r.i2,
    predictionLow: r.predictionLow,
    predictionHigh: r.predictionHigh,
  };
}
