import { z } from 'zod';
import { AttributeName, Count, Probability } from './common.ts';

/**
 * Acceptance criteria (`cairn.criteria/v1`): what a model version must show before anyone decides on it,
 * written down when the campaign is created and frozen from then on (their sha256 is in the audit chain).
 * Every rule is evaluated on the comparison's own numbers (functions/criteria/verdict.ts): `overall` rules on
 * the pool over all sites, `region` rules on each region's pool.
 */

export const CriteriaMetric = z.enum(['auc', 'sensitivity', 'specificity', 'ppv', 'npv']);
export type CriteriaMetric = z.infer<typeof CriteriaMetric>;
export const CriteriaScope = z.enum(['overall', 'region']);
export type CriteriaScope = z.infer<typeof CriteriaScope>;

/** The pooled metric (its estimate, the 95 % CI's or the prediction interval's lower end) is at least a goal. */
export const BoundRule = z
  .object({
    metric: CriteriaMetric,
    scope: CriteriaScope,
    bound: z.enum(['estimate', 'ciLow', 'predictionLow']),
    atLeast: Probability,
  })
  .strict();
export type BoundRule = z.infer<typeof BoundRule>;

/** `<model name>@<semver>`: another version of the campaign, as a coordinator names it. */
export const ModelRef = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,63}@(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?$/,
    'a model as name@version, e.g. chest-xray@1.0.0',
  );

/**
 * Non-inferiority on AUC against another version of the campaign: the within-site-first paired difference
 * (this − versus, the comparison's contrast) has its 95 % CI's lower end at least −margin. Over all sites:
 * the comparison's contrasts are pooled over all sites.
 */
export const NonInferiorityRule = z
  .object({ metric: z.literal('auc'), versus: ModelRef, margin: z.number().min(0).max(1) })
  .strict();
export type NonInferiorityRule = z.infer<typeof NonInferiorityRule>;

/**
 * No subgroup (value of `attribute`) has its pooled estimate more than `maxBelowOverall` below the scope's
 * own pooled estimate: pass when every subgroup's CI lower end clears overall − d, fail when one's CI upper
 * end is below it.
 */
export const SubgroupRule = z
  .object({
    metric: CriteriaMetric,
    scope: CriteriaScope,
    subgroup: AttributeName,
    maxBelowOverall: Probability,
  })
  .strict();
export type SubgroupRule = z.infer<typeof SubgroupRule>;

/**
 * The evidence a scope needs before any verdict but inconclusive: pooled sites, studies, and studies per
 * class (as counts, or as a share of the studies). Never fails: a minimum not met is inconclusive.
 */
export const MinimumRule = z
  .object({
    scope: CriteriaScope,
    minSites: Count.min(1).optional(),
    minCases: Count.min(1).optional(),
    minPositives: Count.min(1).optional(),
    minNegatives: Count.min(1).optional(),
    minClassShare: z.number().gt(0).max(0.5).optional(),
  })
  .strict()
  .refine(
    (m) =>
      m.minSites !== undefined ||
      m.minCases !== undefined ||
      m.minPositives !== undefined ||
      m.minNegatives !== undefined ||
      m.minClassShare !== undefined,
    'a minimum names at least one of minSites, minCases, minPositives, minNegatives, minClassShare',
  );
export type MinimumRule = z.infer<typeof MinimumRule>;

export const CriteriaRule = z.union([BoundRule, NonInferiorityRule, SubgroupRule, MinimumRule]);
export type CriteriaRule = z.infer<typeof CriteriaRule>;

export const Criteria = z
  .object({
    schema: z.literal('cairn.criteria/v1'),
    /** What the criteria are for, in the coordinator's words (shown, never evaluated). */
    title: z.string().trim().min(1).max(200).optional(),
    rules: z.array(CriteriaRule).min(1).max(100),
  })
  .strict();
export type Criteria = z.infer<typeof Criteria>;

export const isNonInferiority = (r: CriteriaRule): r is NonInferiorityRule => 'versus' in r;
export const isSubgroupRule = (r: CriteriaRule): r is SubgroupRule => 'subgroup' in r;
export const isBoundRule = (r: CriteriaRule): r is BoundRule => 'bound' in r;
export const isMinimumRule = (r: CriteriaRule): r is MinimumRule =>
  !isNonInferiority(r) && !isSubgroupRule(r) && !isBoundRule(r);

/** The criteria's JSON Schema (draft 2020-12), for coordinators' own tools. */
export const criteriaJsonSchema = () => z.toJSONSchema(Criteria);
