import { canonicalJson } from '../../schemas/canonical-json.ts';
import type { RolloutVerdict } from '../../schemas/rollout.ts';
import { sha256Hex } from '../audit/hashes.ts';
import { applyVerdict, type RolloutDeps, type VerdictOutcome } from './lifecycle.ts';

/**
 * The part of a comparison (schemas/comparison.ts) that decides rollouts: each model's verdict per region,
 * and the criteria they are of. Structural, so that any comparison carrying verdicts can be passed as it is.
 */
export interface ComparisonWithVerdicts {
  generatedAt?: string;
  models: { modelId: string; regions: { region: string; verdict?: { verdict: RolloutVerdict } }[] }[];
  criteria?: { sha256: string };
}

/**
 * The evidence a verdict rests on: the sha256 of the comparison's canonical JSON without the time it was
 * built, so building it again over the same reports is the same evidence (and no new event).
 */
export function comparisonEvidenceSha256(comparison: ComparisonWithVerdicts): string {
  const { generatedAt: _built, ...rest } = comparison;
  return sha256Hex(canonicalJson(rest));
}

/** Applies every regional verdict of a comparison to its rollout; regions without a verdict are left alone. */
export async function applyComparisonVerdicts(
  deps: RolloutDeps,
  comparison: ComparisonWithVerdicts,
): Promise<(VerdictOutcome & { modelId: string; regionId: string })[]> {
  const evidenceSha256 = comparisonEvidenceSha256(comparison);
  const outcomes: (VerdictOutcome & { modelId: string; regionId: string })[] = [];
  for (const model of comparison.models)
    for (const region of model.regions) {
      if (!region.verdict) continue;
      const key = { modelId: model.modelId, regionId: region.region };
      const outcome = await applyVerdict(deps, {
        ...key,
        verdict: region.verdict.verdict,
        evidenceSha256,
        criteriaSha256: comparison.criteria?.sha256 ?? null,
      });
      outcomes.push({ ...key, ...outcome });
    }
  return outcomes;
}
