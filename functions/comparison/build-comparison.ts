import type { Comparison, PooledEstimate } from '../../schemas/comparison.ts';
import type { SiteReport } from '../../schemas/site-report.ts';
import {
  addSiteDifference,
  contrastFromSample,
  differenceSample,
  pooledBinnedAuc,
  releasedHistogram,
} from '../../stats/across-sites.ts';
import { BIVARIATE_MIN_SITES, poolBivariate } from '../../stats/bivariate.ts';
import { type MetaOptions, poolAuc, poolProportion } from '../../stats/meta.ts';
import type { PoolMemo } from './pool-memo.ts';
import { poolSubgroups } from './subgroup-pools.ts';

/** A model version as the comparison names it. */
export interface ComparedModel {
  modelId: string;
  vendor: string;
  name: string;
  version: string;
  sha256: string;
}

/**
 * One stored site report, with the region its site belongs to. `report` is null when the stored row failed
 * the cloud's check when read back (`invalid` names the rule); `voided` when a coordinator voided it. Only
 * reports that are neither, and withhold no class, enter the pools.
 */
export interface ComparedReport {
  modelId: string;
  siteId: string;
  regionId: string;
  reportId?: string;
  report: SiteReport | null;
  invalid?: string;
  voided?: { reason: string; at: Date };
}

/** A report that enters the pools. */
type PooledReport = ComparedReport & { report: SiteReport };

const pooled = (r: ComparedReport): r is PooledReport =>
  r.report !== null && r.voided === undefined && r.report.withheld === undefined;

type SiteRow = Comparison['models'][number]['sites'][number];
type PooledGroup = Comparison['models'][number]['overall'];

/**
 * Which model-vs-model contrasts to compute: 'all' pairs (A listed before B); 'adjacent', each version vs the
 * one before it of the same vendor and name, in the order given (the API lists versions by semver); or the
 * pairs named, as [A, B]. Every pair needs a site that reported both; others are left out.
 */
export type ContrastSelection = 'all' | 'adjacent' | ReadonlyArray<readonly [string, string]>;

/**
 * Builds the cross-site comparison from stored site reports: per model version, one row per site, then a
 * random-effects pool per region and overall (stats/meta.ts; DL and normal intervals unless `meta` says
 * otherwise) with the pooled binned ROC from the summed histograms (stats/across-sites.ts) and, for groups
 * of at least 4 sites, the bivariate (Reitsma) pool of sensitivity and specificity (stats/bivariate.ts); and
 * for the selected pairs of models (all by default) with sites in common, the within-site-first A-vs-B
 * contrast. Pure over its input, so the API and the CLI produce the same numbers from the same rows. Reports
 * of models not in `models` are ignored.
 */
export function buildComparison(input: {
  campaignId?: string;
  generatedAt: Date;
  models: ComparedModel[];
  reports: ComparedReport[];
  meta?: MetaOptions;
  contrasts?: ContrastSelection;
  /** Pool each subgroup the sites reported too (asked for by criteria with a subgroup rule). */
  subgroups?: boolean;
  /** Pools kept from earlier builds (pool-memo.ts); without it every group is pooled. */
  memo?: PoolMemo;
}): Comparison {
  const opts = input.meta ?? {};
  const subgroups = input.subgroups === true;
  const optionsKey = JSON.stringify([opts, subgroups]);
  const pool = (reports: PooledReport[]) =>
    input.memo
      ? input.memo.pooled(optionsKey, reports, () => poolGroup(reports, opts, subgroups))
      : poolGroup(reports, opts, subgroups);
  const index = indexReports(input.reports);
  const pairs = selectPairs(input.models, input.contrasts ?? 'all');
  const contrasts = modelContrasts(pairs, index, opts);
  return {
    ...(input.campaignId !== undefined ? { campaignId: input.campaignId } : {}),
    generatedAt: input.generatedAt.toISOString(),
    models: input.models.map((m) => {
      const listed = index.listed.get(m.modelId) ?? [];
      const mine = listed.filter(pooled);
      const rows = listed
        .map(siteRow)
        .sort((a, b) => compare(a.site, b.site) || a.status.localeCompare(b.status, 'en'));
      const regionIds = [...new Set(rows.map((r) => r.region))].sort(compare);
      return {
        modelId: m.modelId,
        vendor: m.vendor,
        name: m.name,
        version: m.version,
        sha256: m.sha256,
        sites: rows,
        regions: regionIds.map((region) => ({
          region,
          ...pool(mine.filter((r) => r.regionId === region)),
        })),
        overall: pool(mine),
      };
    }),
    ...(contrasts.length > 0 ? { contrasts } : {}),
  };
}

/**
 * The reports read once: per model in input order, and the first pooled report per (model, site) — ingest
 * keeps at most one unvoided report per job, so "first" only matters for rows written around the API.
 */
interface ReportIndex {
  listed: Map<string, ComparedReport[]>;
  /** Per model, per site (in `sites` order) what its pooled report brings to a contrast; undefined: none. */
  contrastColumns: Map<string, (ContrastCell | undefined)[]>;
  /** Every site with a pooled report, in code-unit order (the order the contrasts take sites in). */
  sites: string[];
}

/**
 * One pooled report's part in the contrasts, read once rather than once per pair: its AUC and, when it
 * compared itself with another model on the same cases, that model's sha256 and the paired difference.
 */
interface ContrastCell {
  estimate: number | null;
  se: number | null;
  pairedWith: string | null;
  difference: number;
  differenceSe: number;
}

function indexReports(reports: ComparedReport[]): ReportIndex {
  const listed = new Map<string, ComparedReport[]>();
  const pooledBySite = new Map<string, Map<string, SiteReport>>();
  const siteSet = new Set<string>();
  for (const r of reports) {
    const list = listed.get(r.modelId);
    if (list) list.push(r);
    else listed.set(r.modelId, [r]);
    if (!pooled(r)) continue;
    siteSet.add(r.siteId);
    const bySite = pooledBySite.get(r.modelId) ?? new Map<string, SiteReport>();
    pooledBySite.set(r.modelId, bySite);
    if (!bySite.has(r.siteId)) bySite.set(r.siteId, r.report);
  }
  const sites = [...siteSet].sort(compare);
  const contrastColumns = new Map<string, (ContrastCell | undefined)[]>();
  for (const [modelId, bySite] of pooledBySite)
    contrastColumns.set(
      modelId,
      sites.map((site) => {
        const report = bySite.get(site);
        return report && contrastCell(report);
      }),
    );
  return { listed, contrastColumns, sites };
}

function contrastCell(r: SiteReport): ContrastCell {
  const p = r.paired;
  const usable = p?.modelB !== undefined && p.difference !== null && p.se !== null;
  return {
    estimate: r.auc.estimate,
    se: r.auc.se,
    pairedWith: usable ? (p.modelB?.sha256 ?? null) : null,
    difference: usable ? (p.difference as number) : 0,
    differenceSe: usable ? (p.se as number) : 0,
  };
}

function selectPairs(
  models: ComparedModel[],
  selection: ContrastSelection,
): [ComparedModel, ComparedModel][] {
  const pairs: [ComparedModel, ComparedModel][] = [];
  if (selection === 'all') {
    for (let i = 0; i < models.length; i++)
      for (let j = i + 1; j < models.length; j++)
        pairs.push([models[i], models[j]] as [ComparedModel, ComparedModel]);
  } else if (selection === 'adjacent') {
    const previous = new Map<string, ComparedModel>();
    for (const m of models) {
      const product = `${m.vendor}/${m.name}`;
      const before = previous.get(product);
      if (before) pairs.push([before, m]);
      previous.set(product, m);
    }
  } else {
    const byId = new Map(models.map((m) => [m.modelId, m]));
    for (const [a, b] of selection) {
      const A = byId.get(a);
      const B = byId.get(b);
      if (A && B && A !== B) pairs.push([A, B]);
    }
  }
  return pairs;
}

/**
 * Each pair (A, B) with at least one site reporting both: per site the paired DeLong difference when A's
 * report compared it with B on the same cases (report.paired.modelB names B's sha256), else A's and B's
 * separate AUCs (var A + var B); then the random-effects pool of compareModelsAcrossSites.
 */
function modelContrasts(
  pairs: [ComparedModel, ComparedModel][],
  index: ReportIndex,
  opts: MetaOptions,
): NonNullable<Comparison['contrasts']> {
  const out: NonNullable<Comparison['contrasts']> = [];
  for (const [A, B] of pairs) {
    const ofA = index.contrastColumns.get(A.modelId);
    const ofB = index.contrastColumns.get(B.modelId);
    if (!ofA || !ofB) continue;
    const sample = differenceSample();
    let shared = 0;
    for (let s = 0; s < ofA.length; s++) {
      const a = ofA[s];
      const b = ofB[s];
      if (!a || !b) continue;
      shared++;
      // The site compared them on the same cases in whichever report came second: A vs B, or B vs A.
      const aVsB = a.pairedWith === B.sha256;
      const bVsA = !aVsB && b.pairedWith === A.sha256;
      addSiteDifference(
        sample,
        aVsB ? a.difference : bVsA ? -b.difference : null,
        aVsB ? a.differenceSe : bVsA ? b.differenceSe : null,
        a.estimate,
        a.se,
        b.estimate,
        b.se,
      );
    }
    if (shared === 0) continue;
    out.push({ modelA: A.modelId, modelB: B.modelId, ...contrastFromSample(sample, opts) });
  }
  return out;
}

function siteRow(r: ComparedReport): SiteRow {
  const { report } = r;
  const status: SiteRow['status'] = r.voided
    ? 'voided'
    : report === null
      ? 'invalid'
      : report.withheld
        ? 'withheld'
        : 'pooled';
  const reason = r.voided?.reason ?? r.invalid ?? report?.withheld?.reason;
  return {
    site: r.siteId,
    region: r.regionId,
    ...(r.reportId !== undefined ? { reportId: r.reportId } : {}),
    status,
    ...(status !== 'pooled' && reason !== undefined ? { reason } : {}),
    ...(r.voided ? { voidedAt: r.voided.at.toISOString() } : {}),
    cases: report?.cases ?? null,
    positives: report?.positives ?? null,
    negatives: report?.negatives ?? null,
    excluded: report?.excluded ?? {},
    auc: report?.auc ?? null,
    sensitivity: report?.sensitivity ?? null,
    specificity: report?.specificity ?? null,
  };
}

function poolGroup(reports: PooledReport[], opts: MetaOptions, subgroups = false): PooledGroup {
  const auc: PooledEstimate = poolAuc(
    reports.map(({ report: r }) => ({ estimate: r.auc.estimate, se: r.auc.se })),
    opts,
  );
  const proportion = (pick: (r: SiteReport) => SiteReport['sensitivity']): PooledEstimate =>
    poolProportion(
      reports.map(({ report: r }) => ({ numerator: pick(r).numerator, denominator: pick(r).denominator })),
      opts,
    );
  return {
    auc,
    sensitivity: proportion((r) => r.sensitivity),
    specificity: proportion((r) => r.specificity),
    ppv: proportion((r) => r.ppv),
    npv: proportion((r) => r.npv),
    binnedAuc: binned(reports),
    ...(subgroups
      ? {
          subgroups: poolSubgroups(
            reports.map((r) => r.report),
            opts,
          ),
        }
      : {}),
    // Sensitivity and specificity jointly (bivariate REML) for groups of at least 4 sites, in site order like
    // the rows; sites whose confusion cells were suppressed are left out of it (its k says how many entered).
    ...(reports.length >= BIVARIATE_MIN_SITES
      ? {
          bivariate: poolBivariate(
            [...reports].sort((a, b) => compare(a.siteId, b.siteId)).map((r) => r.report.confusion),
          ),
        }
      : {}),
  };
}

function binned(reports: PooledReport[]): NonNullable<PooledGroup['binnedAuc']> {
  let b: ReturnType<typeof pooledBinnedAuc>;
  try {
    // A pooled report withholds no class, so both its histograms are there.
    b = pooledBinnedAuc(reports.map((r) => releasedHistogram(r.report.histogram)).filter((h) => h !== null));
  } catch (err) {
    const reason = (err as Error).message;
    return { estimate: null, se: null, ciLow: null, ciHigh: null, bins: 0, reason };
  }
  const bins = (b.histogram?.edges.length ?? 1) - 1;
  const a = b.auc;
  if (a.estimate === null)
    return { estimate: null, se: null, ciLow: null, ciHigh: null, bins, reason: a.reason };
  return { estimate: a.estimate, se: a.se, ciLow: a.ciLow, ciHigh: a.ciHigh, bins };
}

/** Code-unit order, the same on every machine (localeCompare is not). */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
