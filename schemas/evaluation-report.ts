import { z } from 'zod';
import { Count, Id, SemVer, Sha256Hex, Slug } from './common.ts';
import { ModelContrast, PooledGroup, SiteRowStatus, Verdict } from './comparison.ts';
import { Criteria } from './criteria.ts';
import { ExclusionReason } from './exclusion-reasons.ts';
import { RolloutEventView, RolloutState } from './rollout.ts';
import { Auc, Calibration, Proportion } from './site-report.ts';

/**
 * The evaluation report (`cairn.evaluation-report/v1`): everything a regulator or a clinical-safety officer
 * reads about one model version in one campaign, as data. The HTML and PDF documents are renderings of this
 * object and nothing else, so the three formats never disagree. It is a pure function of stored data: `asOf`
 * is the newest stored time it uses (never the clock), so the same data always give the same bytes.
 */

/** A scanner (manufacturer and model, as the sites' subgroups name them) and the studies it produced. */
export const ScannerCount = z
  .object({ attribute: z.enum(['manufacturer', 'scannerModel']), value: z.string().max(32), cases: Count })
  .strict();

/** One site's population and per-site results, from its stored (signed) report. */
export const ReportSite = z
  .object({
    site: Slug,
    region: Slug,
    status: SiteRowStatus,
    reason: z.string().max(500).optional(),
    reportId: z.string().uuid().nullable(),
    /** sha256 of the site report's canonical JSON bytes, as the site signed them. */
    reportSha256: Sha256Hex.nullable(),
    receivedAt: z.iso.datetime().nullable(),
    cases: Count.nullable(),
    positives: Count.nullable(),
    negatives: Count.nullable(),
    images: z.object({ seen: Count.nullable(), used: Count.nullable() }).strict().nullable(),
    excluded: z.partialRecord(ExclusionReason, Count),
    /** Cells the site's privacy gate suppressed (fewer than k) or classes it withheld. */
    suppressed: z.array(z.string()),
    withheld: z.array(z.enum(['positives', 'negatives'])),
    scanners: z.array(ScannerCount),
    auc: Auc.nullable(),
    sensitivity: Proportion.nullable(),
    specificity: Proportion.nullable(),
    calibration: Calibration.nullable(),
    epsilon: z.number().positive().nullable(),
  })
  .strict();
export type ReportSite = z.infer<typeof ReportSite>;

/** A point of the pooled binned ROC curve: false- and true-positive rates at one bin edge. */
export const RocPoint = z.tuple([z.number().min(0).max(1), z.number().min(0).max(1)]);

export const ChecklistStatus = z.enum(['filled', 'not-applicable', 'not-derivable']);
export const ChecklistItem = z
  .object({
    guideline: z.enum(['TRIPOD+AI', 'STARD-AI']),
    item: z.string().max(20),
    topic: z.string().max(200),
    status: ChecklistStatus,
    /** The section of this report that fills the item (the `id` of a section in the HTML). */
    section: z.string().max(40).nullable(),
    note: z.string().max(300).optional(),
  })
  .strict();
export type ChecklistItem = z.infer<typeof ChecklistItem>;

export const GovernanceRegion = z
  .object({ region: Slug, state: RolloutState, events: z.array(RolloutEventView) })
  .strict();

export const EvaluationReport = z
  .object({
    schema: z.literal('cairn.evaluation-report/v1'),
    asOf: z.iso.datetime(),
    /** The region the report is restricted to; null for the whole campaign. */
    region: Slug.nullable(),
    device: z
      .object({
        modelId: Id,
        vendor: Slug,
        name: Slug,
        version: SemVer,
        sha256: Sha256Hex,
        threshold: z.number(),
        task: z.string(),
        modality: z.array(z.string()),
        bodyPart: z.array(z.string()),
        viewPosition: z.array(z.string()),
        description: z.string().nullable(),
      })
      .strict(),
    design: z
      .object({
        campaignId: Id,
        campaignName: z.string(),
        createdAt: z.iso.datetime(),
        firstReportAt: z.iso.datetime().nullable(),
        lastReportAt: z.iso.datetime().nullable(),
        sites: Count,
        regions: z.array(Slug),
        bins: Count,
        minCell: Count,
        subgroupAttributes: z.array(z.string()),
        otherVersions: z.array(z.object({ modelId: Id, version: SemVer }).strict()),
      })
      .strict(),
    criteria: z
      .object({ sha256: Sha256Hex, postHoc: z.boolean(), attachedAt: z.iso.datetime(), criteria: Criteria })
      .strict()
      .nullable(),
    verdicts: z
      .object({
        overall: Verdict.nullable(),
        regions: z.array(z.object({ region: Slug, verdict: Verdict.nullable() }).strict()),
      })
      .strict(),
    sites: z.array(ReportSite),
    pooled: z
      .object({
        overall: PooledGroup,
        regions: z.array(PooledGroup.extend({ region: Slug })),
      })
      .strict(),
    roc: z.object({ sites: Count, points: z.array(RocPoint) }).strict(),
    contrasts: z.array(ModelContrast.extend({ versusVersion: SemVer })),
    governance: z.array(GovernanceRegion),
    privacy: z
      .object({
        minCell: Count,
        suppressedCells: Count,
        withheldSites: Count,
        epsilon: z.array(z.number().positive()),
      })
      .strict(),
    /** What the report was built from, so a reader can check it against the audit chain. */
    inputs: z
      .object({
        modelSha256: Sha256Hex,
        criteriaSha256: Sha256Hex.nullable(),
        reports: z.array(z.object({ reportId: z.string().uuid(), sha256: Sha256Hex }).strict()),
      })
      .strict(),
    checklist: z.array(ChecklistItem),
  })
  .strict();
export type EvaluationReport = z.infer<typeof EvaluationReport>;
