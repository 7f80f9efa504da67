import { z } from 'zod';
import { Count, Id, Probability, SemVer, Sha256Hex, Slug } from './common.ts';
import { ExclusionReason } from './exclusion-reasons.ts';

/**
 * The site report (`cairn.site-report/v1`): the only thing an edge agent ever sends about patients.
 * Closed on purpose: every object is strict, every string is an identifier or an enum, nothing is per case.
 * Methods: ../STATISTICS.md. A null estimate always comes with a reason.
 */

/**
 * 'merged': a subgroup the privacy gate formed by merging small groups, whose AUC it cannot compute.
 * 'insufficient-class-size': a class of the site has 1..k−1 cases, so nothing conditional on it is released.
 */
export const UndefinedReason = z.enum([
  'no-positives',
  'no-negatives',
  'empty',
  'suppressed',
  'merged',
  'insufficient-class-size',
]);

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

/**
 * Per-class counts of study scores on the campaign's bin edges (bins may be merged by the privacy gate).
 * A class's counts are null when that class is withheld (`SiteReport.withheld`).
 */
export const ScoreHistogram = z
  .object({
    edges: z.array(z.number()).min(2),
    positives: z.array(Count).nullable(),
    negatives: z.array(Count).nullable(),
  })
  .strict()
  .refine(
    (h) =>
      (h.positives === null || h.positives.length === h.edges.length - 1) &&
      (h.negatives === null || h.negatives.length === h.edges.length - 1),
    { message: 'a histogram has one count per bin (edges.length - 1)' },
  );
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

/**
 * Calibration of the scores as probabilities (STATISTICS.md): Brier score, ECE over 10 equal-width bins,
 * calibration intercept (calibration-in-the-large: logistic regression of y with logit(p) as offset) and
 * slope (coefficient of logit(p) in a logistic regression of y on logit(p)); Van Calster 2016/2019.
 * The nulls are nested (brier ⇒ ece ⇒ intercept ⇒ slope) and `reason` names why.
 */
export const Calibration = z
  .object({
    brier: z.number().min(0).max(1).nullable(),
    ece: z.number().min(0).max(1).nullable(),
    intercept: z.number().nullable(),
    slope: z.number().nullable(),
    reason: z
      .enum([
        'empty',
        'not-probabilities',
        'no-positives',
        'no-negatives',
        'constant-score',
        'separation',
        'insufficient-class-size',
      ])
      .optional(),
  })
  .strict();
export type Calibration = z.infer<typeof Calibration>;

/** The standard subgroup attributes; a campaign may name more (any SubgroupAttribute token). */
export const STANDARD_SUBGROUP_ATTRIBUTES = [
  'sex',
  'ageBand',
  'manufacturer',
  'scannerModel',
  'bodyPart',
] as const;
export const AGE_BANDS = ['0-17', '18-39', '40-59', '60-74', '75+'] as const;
export type AgeBand = (typeof AGE_BANDS)[number];
/** A subgroup attribute name: a bounded identifier (the standard ones or a campaign-named one). */
export const SubgroupAttribute = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9_-]{0,31}$/,
    'an attribute name: a letter, then letters, digits, "_" or "-"; ≤ 32',
  );
/**
 * A subgroup value: a bounded, normalised token (upper case A–Z, digits, space, "_", ".", "-", "+"; ≤ 32
 * characters — DICOM free text is normalised to it at the site), or the reserved lower-case 'unknown'
 * (attribute missing) and 'other' (small groups the privacy gate merged).
 */
export const SubgroupValue = z.union([
  z.literal('unknown'),
  z.literal('other'),
  z.string().regex(/^[A-Z0-9][A-Z0-9 _.+-]{0,31}$/, 'a normalised subgroup value'),
]);

export const Confusion = z
  .object({ tp: Count.nullable(), fp: Count.nullable(), tn: Count.nullable(), fn: Count.nullable() })
  .strict();

const SuppressedList = z.array(z.enum(SUPPRESSIBLE_FIELDS));

/** Every metric of the report, for the cases whose attribute has this value (after the privacy gate). */
export const Subgroup = z
  .object({
    attribute: SubgroupAttribute,
    value: SubgroupValue,
    cases: Count,
    positives: Count,
    negatives: Count,
    confusion: Confusion,
    sensitivity: Proportion,
    specificity: Proportion,
    ppv: Proportion,
    npv: Proportion,
    auc: Auc,
    calibration: Calibration.optional(),
    suppressed: SuppressedList,
  })
  .strict();
export type Subgroup = z.infer<typeof Subgroup>;

/**
 * Paired DeLong comparison of the report's model (A) with a second score on the same cases (B):
 * difference = aucA − aucB, se = √(L S Lᵀ), z, two-sided p, and S = S10/m + S01/n as
 * [[Var A, Cov], [Cov, Var B]]. `modelB` names B when it is a registered model.
 */
export const Paired = z
  .object({
    aucA: Probability.nullable(),
    aucB: Probability.nullable(),
    difference: z.number().min(-1).max(1).nullable(),
    se: z.number().min(0).nullable(),
    z: z.number().nullable(),
    p: Probability.nullable(),
    covariance: z.tuple([z.tuple([z.number(), z.number()]), z.tuple([z.number(), z.number()])]).nullable(),
    method: z.literal('delong-paired'),
    reason: z
      .enum(['no-positives', 'no-negatives', 'empty', 'too-few', 'zero-variance', 'insufficient-class-size'])
      .optional(),
    modelB: z.object({ vendor: Slug, name: Slug, version: SemVer, sha256: Sha256Hex }).strict().optional(),
  })
  .strict();
export type Paired = z.infer<typeof Paired>;

/**
 * Present when the counts were released with differential privacy: discrete Laplace noise on the confusion
 * cells and on each class histogram, ε split as stated; everything else in the report is derived from those
 * noisy counts (post-processing).
 */
export const DifferentialPrivacy = z
  .object({
    mechanism: z.literal('discrete-laplace'),
    epsilon: z.number().positive(),
    allocation: z.object({ confusion: z.number().positive(), histogram: z.number().positive() }).strict(),
  })
  .strict();

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
    /**
     * Studies evaluated: labelled, with at least one usable image. A withheld class's total is null, and so
     * is `cases` (its complement: cases − the other class would give the withheld total away).
     */
    cases: Count.nullable(),
    positives: Count.nullable(),
    negatives: Count.nullable(),
    /**
     * Present when a class has 1..k−1 cases: that class's total, its histogram, the AUC, calibration, the
     * paired comparison, subgroups and every proportion with that class in its numerator or denominator are
     * withheld (DataSHIELD's nfilter.tab rule; CMS: no displayed or derivable value 1..k−1).
     */
    withheld: z
      .object({
        reason: z.literal('insufficient-class-size'),
        classes: z.array(z.enum(['positives', 'negatives'])).min(1),
      })
      .strict()
      .optional(),
    /**
     * Image files read and used. Null when a class is withheld: with one image per study, used minus the
     * study exclusions is `cases`, which would give the withheld total away.
     */
    images: z.object({ seen: Count.nullable(), used: Count.nullable() }).strict(),
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
    /** Optional so reports made before issue 3 still parse; buildSiteReport always fills it. */
    calibration: Calibration.optional(),
    /** Per attribute value, after the gate: every listed group has cases, positives, negatives 0 or >= k. */
    subgroups: z.array(Subgroup).optional(),
    paired: Paired.optional(),
    differentialPrivacy: DifferentialPrivacy.optional(),
  })
  .strict();
export type SiteReport = z.infer<typeof SiteReport>;
