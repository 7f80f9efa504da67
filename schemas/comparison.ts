import { z } from 'zod';
import { Count, Id, Probability, SemVer, Sha256Hex, Slug } from './common.ts';
import { ExclusionReason } from './exclusion-reasons.ts';
import { Auc, Proportion } from './site-report.ts';

/**
 * A random-effects pooled estimate on the logit scale, back-transformed (DerSimonian–Laird by default).
 * `k` counts the sites that entered the pool; sites whose estimate is undefined or on the boundary are left
 * out and `reason` says so when nothing could be pooled.
 */
export const PooledEstimate = z
  .object({
    estimate: Probability.nullable(),
    ciLow: Probability.nullable(),
    ciHigh: Probability.nullable(),
    tau2: z.number().min(0).nullable(),
    i2: z.number().min(0).max(1).nullable(),
    k: Count,
    method: z.enum(['DL', 'REML']),
    /** Present ('knha') when the Knapp–Hartung adjustment was used; absent means normal (z) intervals. */
    test: z.enum(['z', 'knha']).optional(),
    predictionLow: Probability.nullable().optional(),
    predictionHigh: Probability.nullable().optional(),
    reason: z.string().optional(),
  })
  .strict();
export type PooledEstimate = z.infer<typeof PooledEstimate>;

/**
 * Why a site's report is or is not in the pools: 'pooled'; 'withheld' (the site withheld a class with
 * 1..k−1 cases, `reason` 'insufficient-class-size': its class totals are null and it enters no pool);
 * 'invalid' (the stored report fails the cloud's check when read back, `reason` the rule's code: only the
 * site is shown, no numbers); 'voided' (a coordinator voided it, `reason` their words, `voidedAt`).
 */
export const SiteRowStatus = z.enum(['pooled', 'withheld', 'invalid', 'voided']);

export const SiteComparisonRow = z
  .object({
    site: Slug,
    region: Slug,
    reportId: z.string().uuid().optional(),
    status: SiteRowStatus,
    reason: z.string().max(500).optional(),
    voidedAt: z.string().datetime().optional(),
    cases: Count.nullable(),
    positives: Count.nullable(),
    negatives: Count.nullable(),
    excluded: z.partialRecord(ExclusionReason, Count),
    auc: Auc.nullable(),
    sensitivity: Proportion.nullable(),
    specificity: Proportion.nullable(),
  })
  .strict();
export type SiteComparisonRow = z.infer<typeof SiteComparisonRow>;

/**
 * The pooled binned ROC: the sites' histograms summed on the edges every site kept, and the exact AUC with
 * DeLong's SE of those binned scores (all patients as one sample, not a random-effects mean).
 */
export const BinnedAuc = z
  .object({
    estimate: Probability.nullable(),
    se: z.number().min(0).nullable(),
    ciLow: Probability.nullable(),
    ciHigh: Probability.nullable(),
    bins: Count,
    reason: z.string().optional(),
  })
  .strict();

/** One margin of the bivariate model, back-transformed from the logit scale (null when there is no fit). */
export const BivariateMargin = z
  .object({ estimate: Probability.nullable(), ciLow: Probability.nullable(), ciHigh: Probability.nullable() })
  .strict();

/**
 * Sensitivity and specificity pooled jointly by the bivariate random-effects model (Reitsma et al. 2005),
 * REML, from the sites' confusion counts (stats/bivariate.ts). `k` counts the sites with both margins
 * released; all estimates are null with a `reason` when k < 4 or the fit did not converge. τ² are on the
 * logit scale; ρ is null when a τ² is 0. `logitEstimate`/`logitCovariance`: the pooled
 * (logit sensitivity, logit specificity) and their covariance matrix.
 */
export const BivariatePooled = z
  .object({
    sensitivity: BivariateMargin,
    specificity: BivariateMargin,
    tau2Sensitivity: z.number().min(0).nullable(),
    tau2Specificity: z.number().min(0).nullable(),
    rho: z.number().min(-1).max(1).nullable(),
    logitEstimate: z.tuple([z.number(), z.number()]).nullable(),
    logitCovariance: z
      .tuple([z.tuple([z.number(), z.number()]), z.tuple([z.number(), z.number()])])
      .nullable(),
    logLik: z.number().nullable(),
    converged: z.boolean(),
    k: Count,
    method: z.literal('REML'),
    reason: z.string().optional(),
  })
  .strict();
export type BivariatePooled = z.infer<typeof BivariatePooled>;

/**
 * The criteria's verdict for one scope (a region's pool or the overall one): per rule, with the number that
 * decided it (null when there was none) and why; combined, `inconclusive` when a minimum is not met or any
 * rule is undecided, `fail` when a rule fails, `pass` only when every rule passes. `postHoc` marks criteria
 * attached after the campaign was created.
 */
export const RuleVerdict = z
  .object({
    rule: Count,
    verdict: z.enum(['pass', 'fail', 'inconclusive']),
    value: z.number().nullable(),
    reason: z.string().max(500),
  })
  .strict();
export const Verdict = z
  .object({
    verdict: z.enum(['pass', 'fail', 'inconclusive']),
    postHoc: z.literal(true).optional(),
    rules: z.array(RuleVerdict),
  })
  .strict();
export type Verdict = z.infer<typeof Verdict>;

/** Which criteria the verdicts are of: their sha256 (as the audit chain records it) and whether post hoc. */
export const ComparisonCriteria = z
  .object({ sha256: Sha256Hex, postHoc: z.boolean(), attachedAt: z.string().datetime() })
  .strict();

/** One subgroup (an attribute's value) pooled over the group's sites like the group itself. */
export const PooledSubgroup = z
  .object({
    attribute: z.string().max(32),
    value: z.string().max(32),
    auc: PooledEstimate,
    sensitivity: PooledEstimate,
    specificity: PooledEstimate,
  })
  .strict();

export const PooledGroup = z
  .object({
    /** Present when the campaign has criteria (optional: absent in older output and without criteria). */
    verdict: Verdict.optional(),
    auc: PooledEstimate,
    sensitivity: PooledEstimate,
    specificity: PooledEstimate,
    /** Pooled like sensitivity (optional: absent in older output). */
    ppv: PooledEstimate.optional(),
    npv: PooledEstimate.optional(),
    binnedAuc: BinnedAuc.optional(),
    /** Present for groups of at least 4 sites (optional: absent in older output). */
    bivariate: BivariatePooled.optional(),
    /** Per subgroup the sites reported, pooled (optional: absent in older output). */
    subgroups: z.array(PooledSubgroup).optional(),
  })
  .strict();

/**
 * Model A vs model B across sites, within each site first: per-site AUC differences (paired DeLong where a
 * site compared both on the same cases, else var A + var B — kUnpaired counts those), pooled by random
 * effects on the AUC-difference scale.
 */
export const ModelContrast = z
  .object({
    modelA: Id,
    modelB: Id,
    estimate: z.number().nullable(),
    se: z.number().min(0).nullable(),
    ciLow: z.number().nullable(),
    ciHigh: z.number().nullable(),
    statistic: z.number().nullable(),
    p: Probability.nullable(),
    tau2: z.number().min(0).nullable(),
    i2: z.number().min(0).max(1).nullable(),
    k: Count,
    kPaired: Count,
    kUnpaired: Count,
    method: z.enum(['DL', 'REML']),
    test: z.enum(['z', 'knha']),
    predictionLow: z.number().nullable(),
    predictionHigh: z.number().nullable(),
    reason: z.string().optional(),
  })
  .strict();

export const ModelComparison = z
  .object({
    modelId: Id,
    vendor: Slug,
    name: Slug,
    version: SemVer,
    sha256: Sha256Hex,
    sites: z.array(SiteComparisonRow),
    regions: z.array(PooledGroup.extend({ region: Slug })),
    overall: PooledGroup,
  })
  .strict();

export const Comparison = z
  .object({
    campaignId: Id.optional(),
    generatedAt: z.string().datetime(),
    models: z.array(ModelComparison),
    /** Every pair of compared models with at least one site in common (optional: absent in older output). */
    contrasts: z.array(ModelContrast).optional(),
    /** Present when the campaign has acceptance criteria; the verdicts are of these. */
    criteria: ComparisonCriteria.optional(),
  })
  .strict();
export type Comparison = z.infer<typeof Comparison>;
