import { z } from 'zod';
import { Count, Id, Probability, SemVer, Sha256Hex, Slug } from './common.ts';
import { ExclusionReason } from './exclusion-reasons.ts';

/**
 * The site report (`cairn.site-report/v1`): the only thing an edge agent ever sends about patients.
 * Closed on purpose: every object is strict, every string is an identifier or an enum, nothing is per case.
 * Methods: ../STATISTICS.md. A null estimate always comes with a reason.
 */

export const UndefinedReason = z.enum(['no-positives', 'no-negatives', 'empty', 'suppressed']);

/** A proportion with its 95 % interval (Wilson unless `method` says otherwise). */
export const Proportion = z
  .object({
    estimate: Probability.nullable(),
    ciLow: Probability.nullable(),
    ciHigh: Probability.nullable(),
    numerator: Count.nullable(),
    denominator: Count.nullable(),
    method: z.enum(['wilson', 'clopper-pearson']),
    reason: UndefinedReason.optional(),
  })
  .strict();
export type Proportion = z.infer<typeof Proportion>;

/** Area under the ROC curve with DeLong's standard error and 95 % interval (normal, clipped to [0,1]). */
export const Auc = z
  .object({
    estimate: Probability.nullable(),
    se: z.number().min(0).nullable(),
    ciLow: Probability.nullable(),
    ciHigh: Probability.nullable(),
    method: z.literal('delong'),
    reason: UndefinedReason.optional(),
  })
  .strict();
export type Auc = z.infer<typeof Auc>;

/** Per-class counts of study scores on the campaign's bin edges (bins may be merged by the privacy gate). */
export const ScoreHistogram = z
  .object({
    edges: z.array(z.number()).min(2),
    positives: z.array(Count),
    negatives: z.array(Count),
  })
  .strict()
  .refine((h) => h.positives.length === h.edges.length - 1 && h.negatives.length === h.edges.length - 1, {
    message: 'a histogram has one count per bin (edges.length - 1)',
  });
export type ScoreHistogram = z.infer<typeof ScoreHistogram>;

export const SUPPRESSIBLE_FIELDS = [
  'confusion.tp',
  'confusion.fp',
  'confusion.tn',
  'confusion.fn',
  'sensitivity',
  'specificity',
  'ppv',
  'npv',
] as const;

export const SiteReport = z
  .object({
    schema: z.literal('cairn.site-report/v1'),
    reportId: z.string().uuid(),
    campaignId: Id,
    jobId: Id,
    siteId: Slug,
    model: z.object({ vendor: Slug, name: Slug, version: SemVer, sha256: Sha256Hex }).strict(),
    agentVersion: SemVer,
    /** Minimum cell size the privacy gate applied. */
    minCell: Count,
    threshold: z.number(),
    /** Studies evaluated: labelled, with at least one usable image. */
    cases: Count,
    positives: Count,
    negatives: Count,
    images: z.object({ seen: Count, used: Count }).strict(),
    excluded: z.partialRecord(ExclusionReason, Count),
    /** At the manifest threshold (positive when score >= threshold); null when suppressed. */
    confusion: z
      .object({ tp: Count.nullable(), fp: Count.nullable(), tn: Count.nullable(), fn: Count.nullable() })
      .strict(),
    sensitivity: Proportion,
    specificity: Proportion,
    ppv: Proportion,
    npv: Proportion,
    auc: Auc,
    histogram: ScoreHistogram,
    suppressed: z.array(z.enum(SUPPRESSIBLE_FIELDS)),
  })
  .strict();
export type SiteReport = z.infer<typeof SiteReport>;
