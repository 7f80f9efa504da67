/** Site report files read and pooled across sites with the functions the cloud's comparison uses. */
import { readFileSync } from 'node:fs';
import { SiteReport } from '../../schemas/site-report.ts';
import { compareModelsAcrossSites, pooledBinnedAuc, releasedHistogram } from '../../stats/across-sites.ts';
import { BIVARIATE_MIN_SITES, poolBivariate } from '../../stats/bivariate.ts';
import { type MetaOptions, poolAuc, poolProportion } from '../../stats/meta.ts';
import { CliError } from '../errors.ts';

export function readReport(path: string): SiteReport {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new CliError(`cannot read ${path}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CliError(`${path} is not JSON`);
  }
  const parsed = SiteReport.safeParse(value);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new CliError(
      `${path} is not a cairn.site-report/v1: ${first ? `${first.path.join('.') || '(root)'}: ${first.message}` : ''}`,
    );
  }
  return parsed.data;
}

/**
 * Pools the reports: per-metric random effects, pooled binned ROC, and A−B when reports are paired. A report
 * that withholds a class (1..k−1 cases) enters no pool, as in the cloud's comparison; `withheld` counts them.
 */
export function poolReports(all: SiteReport[], opts: MetaOptions) {
  const reports = all.filter((r) => r.withheld === undefined);
  const prop = (pick: (r: SiteReport) => SiteReport['sensitivity']) =>
    poolProportion(
      reports.map((r) => ({ numerator: pick(r).numerator, denominator: pick(r).denominator })),
      opts,
    );
  const out: Record<string, unknown> = {
    k: reports.length,
    ...(reports.length < all.length ? { withheld: all.length - reports.length } : {}),
    auc: poolAuc(
      reports.map((r) => ({ estimate: r.auc.estimate, se: r.auc.se })),
      opts,
    ),
    sensitivity: prop((r) => r.sensitivity),
    specificity: prop((r) => r.specificity),
  };
  let binned: ReturnType<typeof pooledBinnedAuc> | null = null;
  try {
    binned = pooledBinnedAuc(reports.map((r) => releasedHistogram(r.histogram)).filter((h) => h !== null));
  } catch (err) {
    throw new CliError(`cannot pool the histograms: ${(err as Error).message}`);
  }
  const a = binned.auc;
  out['binnedAuc'] =
    a.estimate === null
      ? { estimate: null, se: null, ciLow: null, ciHigh: null, reason: a.reason, bins: 0 }
      : {
          estimate: a.estimate,
          se: a.se,
          ciLow: a.ciLow,
          ciHigh: a.ciHigh,
          bins: (binned.histogram?.edges.length ?? 1) - 1,
        };
  // Sensitivity and specificity jointly (bivariate REML, Reitsma) from the confusion counts, from 4 reports
  // on; reports with suppressed cells are left out of it (its k says how many entered, reason why none).
  if (reports.length >= BIVARIATE_MIN_SITES)
    out['bivariate'] = poolBivariate(reports.map((r) => r.confusion));
  const paired = reports.filter((r) => r.paired !== undefined);
  if (paired.length > 0) {
    out['difference'] = compareModelsAcrossSites(
      paired.map((r) => ({ paired: r.paired ?? null })),
      opts,
    );
  }
  return out;
}
