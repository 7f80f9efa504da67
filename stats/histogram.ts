/**
 * Score histograms on campaign-fixed bin edges, and the AUC they determine exactly.
 */
import { type AucResult, aucResult, aucUndefinedReason } from './roc.ts';

/** Throws unless `edges` are at least two finite, strictly increasing numbers. */
export function checkEdges(edges: ArrayLike<number>): void {
  if (edges.length < 2) throw new RangeError(`a histogram needs at least 2 edges, got ${edges.length}`);
  for (let i = 0; i < edges.length; i++) {
    const e = edges[i] as number;
    if (!Number.isFinite(e)) throw new RangeError(`edge ${i} is ${e}`);
    if (i > 0 && !(e > (edges[i - 1] as number))) throw new RangeError('edges must be strictly increasing');
  }
}

/**
 * Counts `scores` into the bins of `edges`: bin i is [e_i, e_{i+1}), the last bin [e_{B−1}, e_B] is closed.
 * Scores below e_0 are counted in the first bin and scores above e_B in the last, so every score is counted
 * once and the bin totals equal the class totals (a score outside the campaign range still has a rank
 * relative to the others). NaN throws.
 */
export function binCounts(scores: ArrayLike<number>, edges: ArrayLike<number>): number[] {
  checkEdges(edges);
  const bins = edges.length - 1;
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i] as number;
    if (Number.isNaN(s)) throw new RangeError(`score ${i} is NaN`);
    // largest b in [0, bins − 1] with edges[b] <= s (0 when s is below every edge)
    let lo = 0;
    let hi = bins - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((edges[mid] as number) <= s) lo = mid;
      else hi = mid - 1;
    }
    counts[lo] = (counts[lo] as number) + 1;
  }
  return counts;
}

/** `bins` equal-width bins on [lo, hi]: edges lo + (hi − lo)·i/bins, with the last edge exactly hi. */
export function equalWidthEdges(bins: number, lo = 0, hi = 1): number[] {
  if (!Number.isInteger(bins) || bins < 1)
    throw new RangeError(`bins must be a positive integer, got ${bins}`);
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && lo < hi))
    throw new RangeError(`need lo < hi, got ${lo}, ${hi}`);
  const edges: number[] = [];
  for (let i = 0; i < bins; i++) edges.push(lo + ((hi - lo) * i) / bins);
  edges.push(hi);
  return edges;
}

function checkCounts(counts: readonly number[], what: string): number {
  let total = 0;
  for (const c of counts) {
    if (!Number.isInteger(c) || c < 0)
      throw new RangeError(`${what} bin counts must be non-negative integers`);
    total += c;
  }
  return total;
}

/**
 * AUC and DeLong variance of the binned scores (every score replaced by its bin), exact for that data — the
 * same numbers as delongAuc on the bin indices. From per-bin positive counts P_b and negative counts N_b
 * (STATISTICS.md): v10_b = (Σ_{c<b} N_c + ½N_b)/n, v01_b = (Σ_{c>b} P_c + ½P_b)/m, AUC = Σ P_b v10_b/m,
 * S10 = Σ P_b (v10_b − AUC)²/(m−1), S01 = Σ N_b (v01_b − AUC)²/(n−1), Var = S10/m + S01/n; CI normal,
 * clipped to [0, 1]. se/CI null when m or n is 1 (as delongAuc). Summed per-site histograms on the same
 * edges give the pooled binned AUC.
 */
export function binnedAuc(
  positives: readonly number[],
  negatives: readonly number[],
  level = 0.95,
): AucResult {
  if (positives.length !== negatives.length) {
    throw new RangeError(
      `positives (${positives.length}) and negatives (${negatives.length}) bin counts differ`,
    );
  }
  const m = checkCounts(positives, 'positive');
  const n = checkCounts(negatives, 'negative');
  const reason = aucUndefinedReason(m, n);
  if (reason) return { estimate: null, reason, m, n };
  const bins = positives.length;
  const v10 = new Float64Array(bins);
  const v01 = new Float64Array(bins);
  let negBelow = 0;
  for (let b = 0; b < bins; b++) {
    const nb = negatives[b] as number;
    v10[b] = (negBelow + nb / 2) / n;
    negBelow += nb;
  }
  let posAbove = 0;
  for (let b = bins - 1; b >= 0; b--) {
    const pb = positives[b] as number;
    v01[b] = (posAbove + pb / 2) / m;
    posAbove += pb;
  }
  let auc = 0;
  for (let b = 0; b < bins; b++) auc += (positives[b] as number) * (v10[b] as number);
  auc /= m;
  let s10: number | null = null;
  let s01: number | null = null;
  if (m > 1 && n > 1) {
    let a = 0;
    let c = 0;
    for (let b = 0; b < bins; b++) {
      a += (positives[b] as number) * ((v10[b] as number) - auc) ** 2;
      c += (negatives[b] as number) * ((v01[b] as number) - auc) ** 2;
    }
    s10 = a / (m - 1);
    s01 = c / (n - 1);
  }
  return aucResult(auc, s10, s01, m, n, level);
}
