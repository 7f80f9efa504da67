import type { Comparison } from '../../schemas/comparison.ts';
import type { SiteReport } from '../../schemas/site-report.ts';
import { type MetaOptions, poolAuc, poolProportion } from '../../stats/meta.ts';

type PooledSubgroup = NonNullable<Comparison['models'][number]['overall']['subgroups']>[number];

/**
 * Each subgroup (attribute value) the group's sites reported, pooled over those sites like the group itself:
 * AUC and sensitivity/specificity by random effects on the logit scale. A site's subgroup with a suppressed
 * or undefined metric enters no pool of that metric (the pool's k says how many did). In attribute, then
 * value order (code units).
 */
export function poolSubgroups(reports: readonly SiteReport[], opts: MetaOptions): PooledSubgroup[] {
  const byKey = new Map<
    string,
    { attribute: string; value: string; of: NonNullable<SiteReport['subgroups']> }
  >();
  for (const r of reports)
    for (const s of r.subgroups ?? []) {
      const key = `${s.attribute}\u0000${s.value}`;
      const entry = byKey.get(key) ?? { attribute: s.attribute, value: s.value, of: [] };
      entry.of.push(s);
      byKey.set(key, entry);
    }
  return [...byKey.keys()]
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    .map((key) => {
      const { attribute, value, of } = byKey.get(key) as NonNullable<ReturnType<typeof byKey.get>>;
      return {
        attribute,
        value,
        auc: poolAuc(
          of.map((s) => ({ estimate: s.auc.estimate, se: s.auc.se })),
          opts,
        ),
        sensitivity: poolProportion(
          of.map((s) => s.sensitivity),
          opts,
        ),
        specificity: poolProportion(
          of.map((s) => s.specificity),
          opts,
        ),
      };
    });
}
