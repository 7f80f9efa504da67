import type { Comparison } from '../../schemas/comparison.ts';
import type { Criteria } from '../../schemas/criteria.ts';
import type { EvaluationReport, ReportSite } from '../../schemas/evaluation-report.ts';
import type { ModelManifest } from '../../schemas/model-manifest.ts';
import type { RolloutEventView, RolloutState } from '../../schemas/rollout.ts';
import type { SiteReport } from '../../schemas/site-report.ts';
import { checklistOf } from './checklist.ts';
import { pooledRocPoints } from './pooled-roc.ts';

type ModelEntry = Comparison['models'][number];

/** What the report is made of, as read from the cloud's store (evidence.ts). */
export interface ReportEvidence {
  model: {
    id: string;
    vendor: string;
    name: string;
    version: string;
    sha256: string;
    manifest: ModelManifest;
  };
  campaign: {
    id: string;
    name: string;
    createdAt: Date;
    binEdges: number[];
    minCell: number;
    subgroupAttributes: string[];
    criteria: { criteria: Criteria; sha256: string; postHoc: boolean; attachedAt: Date } | null;
  };
  comparison: Comparison;
  /** The stored site reports the comparison's rows name, by report id, with the sha256 of the signed bytes. */
  reports: Map<string, { report: SiteReport; receivedAt: Date; payloadSha256: string }>;
  governance: { region: string; state: RolloutState; events: RolloutEventView[] }[];
  region: string | null;
}

const iso = (d: Date) => d.toISOString();

/** The evaluation report of one model version: a pure function of the evidence (no clock, no I/O). */
export function assembleReport(e: ReportEvidence): EvaluationReport {
  const entry = e.comparison.models.find((m) => m.modelId === e.model.id);
  if (!entry) throw new RangeError('the comparison has no entry for this model');
  const rows = e.region ? entry.sites.filter((s) => s.region === e.region) : entry.sites;
  const sites = rows.map((row) => siteOf(row, e.reports));
  const regions = e.region ? entry.regions.filter((r) => r.region === e.region) : entry.regions;
  const pooledOverall = e.region ? (withoutRegion(regions[0]) ?? entry.overall) : entry.overall;
  const used = sites.filter((s) => s.reportId !== null && s.reportSha256 !== null);
  const received = used.map((s) => s.receivedAt as string).sort();
  const body: Omit<EvaluationReport, 'checklist'> = {
    schema: 'cairn.evaluation-report/v1',
    asOf: asOfOf(e, received),
    region: e.region,
    device: deviceOf(e.model),
    design: {
      campaignId: e.campaign.id,
      campaignName: e.campaign.name,
      createdAt: iso(e.campaign.createdAt),
      firstReportAt: received[0] ?? null,
      lastReportAt: received[received.length - 1] ?? null,
      sites: sites.length,
      regions: [...new Set(sites.map((s) => s.region))].sort(),
      bins: e.campaign.binEdges.length - 1,
      minCell: e.campaign.minCell,
      subgroupAttributes: e.campaign.subgroupAttributes,
      otherVersions: e.comparison.models
        .filter((m) => m.modelId !== e.model.id && m.name === e.model.name && m.vendor === e.model.vendor)
        .map((m) => ({ modelId: m.modelId, version: m.version })),
    },
    criteria: e.campaign.criteria && {
      ...e.campaign.criteria,
      attachedAt: iso(e.campaign.criteria.attachedAt),
    },
    verdicts: {
      overall: pooledOverall.verdict ?? null,
      regions: regions.map((r) => ({ region: r.region, verdict: r.verdict ?? null })),
    },
    sites,
    pooled: { overall: pooledOverall, regions },
    roc: rocOf(rows, e.reports),
    contrasts: contrastsOf(e.comparison, entry),
    governance: e.region ? e.governance.filter((g) => g.region === e.region) : e.governance,
    privacy: {
      minCell: e.campaign.minCell,
      suppressedCells: sites.reduce((n, s) => n + s.suppressed.length, 0),
      withheldSites: sites.filter((s) => s.withheld.length > 0).length,
      epsilon: [...new Set(sites.flatMap((s) => (s.epsilon === null ? [] : [s.epsilon])))].sort(
        (a, b) => a - b,
      ),
    },
    inputs: {
      modelSha256: e.model.sha256,
      criteriaSha256: e.campaign.criteria?.sha256 ?? null,
      reports: used.map((s) => ({ reportId: s.reportId as string, sha256: s.reportSha256 as string })),
    },
  };
  return { ...body, checklist: checklistOf(body) };
}

/** The newest stored time the report depends on, so that it never reads the clock. */
function asOfOf(e: ReportEvidence, received: string[]): string {
  const times = [
    iso(e.campaign.createdAt),
    ...received,
    ...(e.campaign.criteria ? [iso(e.campaign.criteria.attachedAt)] : []),
    ...e.governance.flatMap((g) => g.events.map((ev) => ev.at)),
  ];
  return times.sort()[times.length - 1] as string;
}

function deviceOf(m: ReportEvidence['model']): EvaluationReport['device'] {
  return {
    modelId: m.id,
    vendor: m.vendor,
    name: m.name,
    version: m.version,
    sha256: m.sha256,
    threshold: m.manifest.threshold,
    task: m.manifest.task,
    modality: m.manifest.modality,
    bodyPart: m.manifest.bodyPart ?? [],
    viewPosition: m.manifest.viewPosition ?? [],
    description: m.manifest.description ?? null,
  };
}

function siteOf(row: ModelEntry['sites'][number], reports: ReportEvidence['reports']): ReportSite {
  const stored = row.reportId ? reports.get(row.reportId) : undefined;
  const r = stored?.report;
  return {
    site: row.site,
    region: row.region,
    status: row.status,
    ...(row.reason ? { reason: row.reason } : {}),
    reportId: row.reportId ?? null,
    reportSha256: stored?.payloadSha256 ?? null,
    receivedAt: stored ? iso(stored.receivedAt) : null,
    cases: row.cases,
    positives: row.positives,
    negatives: row.negatives,
    images: r ? r.images : null,
    excluded: row.excluded,
    suppressed: r ? [...r.suppressed] : [],
    withheld: r?.withheld ? [...r.withheld.classes] : [],
    scanners: (r?.subgroups ?? [])
      .filter((g) => g.attribute === 'manufacturer' || g.attribute === 'scannerModel')
      .map((g) => ({
        attribute: g.attribute as 'manufacturer' | 'scannerModel',
        value: g.value,
        cases: g.cases,
      })),
    auc: row.auc,
    sensitivity: row.sensitivity,
    specificity: row.specificity,
    calibration: r?.calibration ?? null,
    epsilon: r?.differentialPrivacy?.epsilon ?? null,
  };
}

function rocOf(rows: ModelEntry['sites'], reports: ReportEvidence['reports']): EvaluationReport['roc'] {
  const pooled = rows.filter((s) => s.status === 'pooled' && s.reportId && reports.has(s.reportId));
  const histograms = pooled.map(
    (s) => (reports.get(s.reportId as string) as { report: SiteReport }).report.histogram,
  );
  return {
    sites: histograms.filter((h) => h.positives && h.negatives).length,
    points: pooledRocPoints(histograms),
  };
}

/** The comparison's contrasts of this version with the others, always as this version minus the other. */
function contrastsOf(c: Comparison, entry: ModelEntry): EvaluationReport['contrasts'] {
  const versionOf = new Map(c.models.map((m) => [m.modelId, m.version]));
  return (c.contrasts ?? []).flatMap((k) => {
    if (k.modelA === entry.modelId) return [{ ...k, versusVersion: versionOf.get(k.modelB) ?? '0.0.0' }];
    if (k.modelB !== entry.modelId) return [];
    const neg = (x: number | null) => (x === null ? null : -x);
    return [
      {
        ...k,
        modelA: k.modelB,
        modelB: k.modelA,
        estimate: neg(k.estimate),
        ciLow: neg(k.ciHigh),
        ciHigh: neg(k.ciLow),
        statistic: neg(k.statistic),
        predictionLow: neg(k.predictionHigh),
        predictionHigh: neg(k.predictionLow),
        versusVersion: versionOf.get(k.modelA) ?? '0.0.0',
      },
    ];
  });
}

function withoutRegion(g: ModelEntry['regions'][number] | undefined): ModelEntry['overall'] | undefined {
  if (!g) return undefined;
  const { region: _region, ...group } = g;
  return group;
}
