import { z } from 'zod';
import { Count, Id, Probability, SemVer, Sha256Hex, Slug } from './common.ts';
import { ExclusionReason } from './exclusion-reasons.ts';
import { Job } from './job.ts';
import { Auc, Confusion, Proportion, ScoreHistogram, SubgroupValue } from './site-report.ts';

/**
 * Monitoring of a deployed model version (issue 13): the jobs the cloud issues per period, the report an agent
 * sends back (`cairn.monitoring-report/v1`, closed like the site report and through the same privacy gate),
 * and the alerts the cloud raises from them. Methods: docs/statistics.md (monitoring).
 */

/** A calendar date, `YYYY-MM-DD` (UTC). Periods are half-open: start ≤ StudyDate < end. */
export const IsoDate = z.iso.date();

/** One monitoring period of one rollout: the index counts from the rollout's monitoring start (0-based). */
export const MonitoringPeriod = z
  .object({
    regionId: Slug,
    index: z.number().int().min(0).max(100_000),
    start: IsoDate,
    end: IsoDate,
  })
  .strict()
  .refine((p) => p.start < p.end, { message: 'a period ends after it starts' });
export type MonitoringPeriod = z.infer<typeof MonitoringPeriod>;

/**
 * A monitoring job as an agent pulls it (`GET /v1/monitoring/jobs`): an evaluation job's fields (the model,
 * the campaign whose bins and minimum cell apply) plus the period whose studies it covers.
 */
export const MonitoringJob = Job.extend({
  kind: z.literal('monitoring'),
  period: MonitoringPeriod,
}).strict();
export type MonitoringJob = z.infer<typeof MonitoringJob>;

/** The agent's pull: pending monitoring jobs, and the ids of ones it may hold that are cancelled (a suspended
 * or withdrawn version) and must be dropped. */
export const MonitoringJobsAnswer = z
  .object({ jobs: z.array(MonitoringJob), cancelled: z.array(Id) })
  .strict();
export type MonitoringJobsAnswer = z.infer<typeof MonitoringJobsAnswer>;

/** The acquisition attributes whose distribution a monitoring report carries (levels below k merged). */
export const MONITORING_ATTRIBUTES = [
  'manufacturer',
  'scannerModel',
  'softwareVersion',
  'bodyPart',
  'kvpBand',
  'sliceThicknessBand',
  'sex',
  'ageBand',
] as const;
export const MonitoringAttribute = z.enum(MONITORING_ATTRIBUTES);
export type MonitoringAttribute = z.infer<typeof MonitoringAttribute>;

/** Bands the site reduces numeric tags to before anything leaves (values are SubgroupValue tokens). */
export const KVP_BANDS = ['0-79', '80-99', '100-119', '120-139', '140+'] as const;
export const SLICE_THICKNESS_BANDS = ['0-0.9', '1-2.4', '2.5-4.9', '5+'] as const;

/** Counts per level of one attribute over the period's cases; every listed count is 0 or ≥ k. */
export const AttributeDistribution = z
  .object({
    attribute: MonitoringAttribute,
    levels: z.array(z.object({ value: SubgroupValue, count: Count }).strict()),
  })
  .strict();
export type AttributeDistribution = z.infer<typeof AttributeDistribution>;

/**
 * The labelled cases of the period (labels.csv may cover only some studies, or arrive later): the confusion
 * cells at the manifest threshold, per-class histograms, and the exact DeLong AUC of their study scores, as
 * in the site report and under the same small-class rule (`withheld`).
 */
export const LabelledOutcome = z
  .object({
    cases: Count.nullable(),
    positives: Count.nullable(),
    negatives: Count.nullable(),
    withheld: z
      .object({
        reason: z.literal('insufficient-class-size'),
        classes: z.array(z.enum(['positives', 'negatives'])).min(1),
      })
      .strict()
      .optional(),
    confusion: Confusion,
    sensitivity: Proportion,
    specificity: Proportion,
    auc: Auc,
    histogram: ScoreHistogram,
  })
  .strict();
export type LabelledOutcome = z.infer<typeof LabelledOutcome>;

export const MonitoringReport = z
  .object({
    schema: z.literal('cairn.monitoring-report/v1'),
    reportId: z.uuid(),
    jobId: Id,
    campaignId: Id,
    siteId: Slug,
    model: z.object({ vendor: Slug, name: Slug, version: SemVer, sha256: Sha256Hex }).strict(),
    agentVersion: SemVer,
    period: z.object({ start: IsoDate, end: IsoDate }).strict(),
    /**
     * 1 for the period's first report; a later run that has labels for more of the period's studies sends
     * revision 2, 3, … (the labelled follow-up), which replaces the earlier one. A revision leaves only when its
     * difference from the previous one passes the privacy gate as well.
     */
    revision: z.number().int().min(1).max(1000),
    minCell: Count,
    threshold: z.number(),
    /** Studies of the period scored (at least one usable image), labelled or not. */
    cases: Count,
    excluded: z.partialRecord(ExclusionReason, Count),
    /** All cases' study scores on the campaign's bins (bins merged by the gate until each is 0 or ≥ k). */
    histogram: z
      .object({ edges: z.array(z.number()).min(2), counts: z.array(Count) })
      .strict()
      .refine((h) => h.counts.length === h.edges.length - 1, {
        message: 'a histogram has one count per bin (edges.length - 1)',
      }),
    /** Cases with score ≥ threshold; null when it or its complement is 1..k−1. */
    predictedPositive: Count.nullable(),
    /** Null when no study of the period has a label. */
    labelled: LabelledOutcome.nullable(),
    attributes: z.array(AttributeDistribution),
  })
  .strict();
export type MonitoringReport = z.infer<typeof MonitoringReport>;

/** How a rollout is monitored (`POST /v1/rollouts/:model/:region/monitoring`); defaults when never set. */
export const MonitoringSettings = z
  .object({
    /** First period's start; a date in the past back-fills the periods that have ended, at once. */
    start: IsoDate,
    periodDays: z.number().int().min(1).max(366).default(7),
    /** Stop issuing after this many periods (absent: for as long as the version stays deployed). */
    periods: z.number().int().min(1).max(10_000).optional(),
    /** Suspend the version by itself when a `performance` alert is raised (default: propose only). */
    autoSuspend: z.boolean().default(false),
  })
  .strict();
export type MonitoringSettings = z.infer<typeof MonitoringSettings>;

export const ALERT_KINDS = ['score-drift', 'attribute-shift', 'positive-rate', 'performance'] as const;
export const AlertKind = z.enum(ALERT_KINDS);
export const ALERT_STATES = ['open', 'acknowledged', 'resolved', 'escalated'] as const;
export const AlertState = z.enum(ALERT_STATES);
export const ALERT_ACTIONS = ['acknowledge', 'resolve', 'escalate'] as const;
export const AlertAction = z.enum(ALERT_ACTIONS);

/** What a person gives for an alert action (`POST /v1/monitoring/alerts/:id/:action`). */
export const AlertActionBody = z.object({ reason: z.string().trim().min(1).max(2000) }).strict();

/**
 * An alert as the API and the webhook carry it. `scope: 'region'` is the region-level signal (three or more
 * sites alerting on the same scanner software within two periods); its `siteId` is null and `evidence` lists
 * the site alerts it groups.
 */
export const Alert = z
  .object({
    alertId: Id,
    scope: z.enum(['site', 'region']),
    modelId: Id,
    model: z.object({ vendor: Slug, name: Slug, version: SemVer }).strict(),
    regionId: Slug,
    siteId: Slug.nullable(),
    periodStart: IsoDate,
    kind: AlertKind,
    severity: z.enum(['warning', 'critical']),
    /** e.g. `js`, `psi`, `chi2-p`, `cusum-hi`, `cusum-lo`, `ewma`, `cbpe-sensitivity`. */
    statistic: z.string().regex(/^[a-z0-9-]{1,40}$/),
    /** The attribute, for attribute-shift (and the software version a region signal groups by). */
    attribute: z.string().max(64).optional(),
    value: z.number(),
    threshold: z.number(),
    /** The chart's parameters where a control chart raised it (K, H in σ units; μ, σ of the reference). */
    chart: z
      .object({ k: z.number(), h: z.number(), mu: z.number(), sigma: z.number(), arl0: z.number() })
      .strict()
      .optional(),
    /** Monitoring report ids (or, for a region signal, alert ids) the alert rests on. */
    evidence: z.array(z.string().min(1).max(64)).min(1),
    state: AlertState,
    raisedAt: z.iso.datetime(),
    /** True once escalation proposed suspending the version in the region (a coordinator confirms). */
    suspensionProposed: z.boolean(),
  })
  .strict();
export type Alert = z.infer<typeof Alert>;

/** One period of one site, as `GET /v1/monitoring/status` and the scenario's monitoring.json summarise it. */
export const MonitoringPeriodSummary = z
  .object({
    start: IsoDate,
    end: IsoDate,
    cases: Count,
    labelled: Count,
    positiveRate: Probability.nullable(),
    scoreDrift: z.object({ js: z.number().nullable(), psi: z.number().nullable() }).strict(),
    auc: z.object({ estimate: Probability, ciLow: Probability, ciHigh: Probability }).strict().nullable(),
  })
  .strict();
export type MonitoringPeriodSummary = z.infer<typeof MonitoringPeriodSummary>;

export const MonitoringStatus = z
  .object({
    models: z.array(
      z
        .object({
          modelId: Id,
          name: Slug,
          version: SemVer,
          regions: z.array(
            z
              .object({
                regionId: Slug,
                state: z.string(),
                settings: MonitoringSettings.nullable(),
                sites: z.array(
                  z.object({ siteId: Slug, periods: z.array(MonitoringPeriodSummary) }).strict(),
                ),
              })
              .strict(),
          ),
        })
        .strict(),
    ),
  })
  .strict();
export type MonitoringStatus = z.infer<typeof MonitoringStatus>;
