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
    predictionLow: Probability.nullable().optional(),
    predictionHigh: Probability.nullable().optional(),
    reason: z.string().optional(),
  })
  .strict();
export type PooledEstimate = z.infer<typeof PooledEstimate>;

export const SiteComparisonRow = z
  .object({
    site: Slug,
    region: Slug,
    cases: Count,
    positives: Count,
    negatives: Count,
    excluded: z.partialRecord(ExclusionReason, Count),
    auc: Auc,
    sensitivity: Proportion,
    specificity: Proportion,
  })
  .strict();

export const PooledGroup = z
  .object({ auc: PooledEstimate, sensitivity: PooledEstimate, specificity: PooledEstimate })
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
  })
  .strict();
export type Comparison = z.infer<typeof Comparison>;
