import type { Comparison, PooledEstimate } from '../../schemas/comparison.ts';
import type { CriteriaMetric } from '../../schemas/criteria.ts';

export type ModelEntry = Comparison['models'][number];
export type PooledGroup = ModelEntry['overall'];

/** What the verdict engine reads of an interval: the comparison's own numbers, never recomputed. */
export type ReadEstimate = Pick<
  PooledEstimate,
  'estimate' | 'ciLow' | 'ciHigh' | 'predictionLow' | 'predictionHigh' | 'reason'
>;

/** The group's pooled metric; null when the comparison does not pool it (PPV and NPV in older output). */
export function groupEstimate(g: PooledGroup, metric: CriteriaMetric): ReadEstimate | null {
  return g[metric] ?? null;
}

/** The group's pooled subgroups of one attribute; null when the comparison pools no subgroups. */
export function groupSubgroups(
  g: PooledGroup,
  attribute: string,
  metric: CriteriaMetric,
): { value: string; estimate: ReadEstimate }[] | null {
  if (g.subgroups === undefined) return null;
  if (metric !== 'auc' && metric !== 'sensitivity' && metric !== 'specificity') return null;
  return g.subgroups
    .filter((s) => s.attribute === attribute && s.value !== 'unknown')
    .map((s) => ({ value: s.value, estimate: s[metric] }));
}

/** Pooled site rows of a region (or of all regions when null), and the studies per class they reported. */
export function scopeCounts(m: ModelEntry, region: string | null) {
  const rows = m.sites.filter((s) => s.status === 'pooled' && (region === null || s.region === region));
  const sum = (pick: (s: (typeof rows)[number]) => number | null) =>
    rows.reduce((n, s) => n + (pick(s) ?? 0), 0);
  return {
    sites: new Set(rows.map((s) => s.site)).size,
    cases: sum((s) => s.cases),
    positives: sum((s) => s.positives),
    negatives: sum((s) => s.negatives),
  };
}
