import type { Comparison, PooledEstimate } from '../../schemas/comparison.ts';
import type { SiteReport } from '../../schemas/site-report.ts';
import { poolAuc, poolProportion } from '../../stats/meta.ts';

/** A model version as the comparison names it. */
export interface ComparedModel {
  modelId: string;
  vendor: string;
  name: string;
  version: string;
  sha256: string;
}

/** One stored site report, with the region its site belongs to. */
export interface ComparedReport {
  modelId: string;
  siteId: string;
  regionId: string;
  report: SiteReport;
}

type SiteRow = Comparison['models'][number]['sites'][number];
type PooledGroup = Comparison['models'][number]['overall'];

/**
 * Builds the cross-site comparison from stored site reports: per model version, one row per site, then a
 * random-effects pool per region and overall (stats/meta.ts). Pure over its input, so the API and the CLI
 * produce the same numbers from the same rows. Reports of models not in `models` are ignored.
 */
export function buildComparison(input: {
  campaignId?: string;
  generatedAt: Date;
  models: ComparedModel[];
  reports: ComparedReport[];
}): Comparison {
  return {
    ...(input.campaignId !== undefined ? { campaignId: input.campaignId } : {}),
    generatedAt: input.generatedAt.toISOString(),
    models: input.models.map((m) => {
      const rows = input.reports
        .filter((r) => r.modelId === m.modelId)
        .map(siteRow)
        .sort((a, b) => compare(a.site, b.site));
      const regionIds = [...new Set(rows.map((r) => r.region))].sort(compare);
      return {
        modelId: m.modelId,
        vendor: m.vendor,
        name: m.name,
        version: m.version,
        sha256: m.sha256,
        sites: rows,
        regions: regionIds.map((region) => ({ region, ...pool(rows.filter((r) => r.region === region)) })),
        overall: pool(rows),
      };
    }),
  };
}

function siteRow(r: ComparedReport): SiteRow {
  const { report } = r;
  return {
    site: r.siteId,
    region: r.regionId,
    cases: report.cases,
    positives: report.positives,
    negatives: report.negatives,
    excluded: report.excluded,
    auc: report.auc,
    sensitivity: report.sensitivity,
    specificity: report.specificity,
  };
}

function pool(rows: SiteRow[]): PooledGroup {
  const auc: PooledEstimate = poolAuc(rows.map((r) => ({ estimate: r.auc.estimate, se: r.auc.se })));
  const proportion = (pick: (r: SiteRow) => SiteRow['sensitivity']): PooledEstimate =>
    poolProportion(rows.map((r) => ({ numerator: pick(r).numerator, denominator: pick(r).denominator })));
  return {
    auc,
    sensitivity: proportion((r) => r.sensitivity),
    specificity: proportion((r) => r.specificity),
  };
}

/** Code-unit order, the same on every machine (localeCompare is not). */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
