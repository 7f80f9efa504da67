import type { Principal } from '../api/env.ts';
import type { ContrastSelection } from '../comparison/build-comparison.ts';
import { ApiError } from '../errors.ts';
import { applyComparisonVerdicts, type ComparisonWithVerdicts } from './from-comparison.ts';
import type { RolloutDeps } from './lifecycle.ts';

/**
 * Whether a comparison built for this caller is the whole campaign's evidence: an admin or a coordinator of
 * every region sees every site and model version, and only the default contrasts ('all') give each
 * non-inferiority rule its pair. A vendor's or a regional coordinator's comparison pools part of the sites or
 * leaves models out, so its verdicts must never decide a rollout.
 */
export function decidesRollouts(p: Principal, contrasts: ContrastSelection): boolean {
  if (contrasts !== 'all') return false;
  return p.role === 'admin' || (p.role === 'coordinator' && p.regionIds === null);
}

/**
 * The comparison route's hook: a whole-campaign comparison just built moves each rollout by its regional
 * verdict (pass → recommended, fail → not-recommended, inconclusive → as it was). The same evidence built
 * again records nothing (from-comparison.ts), so building it on every read is safe.
 */
export async function applyVerdictsOfBuiltComparison(
  deps: RolloutDeps,
  p: Principal,
  contrasts: ContrastSelection,
  comparisonJson: string,
): Promise<void> {
  if (!decidesRollouts(p, contrasts)) return;
  const comparison = JSON.parse(comparisonJson) as ComparisonWithVerdicts;
  if (!comparison.criteria) return;
  // Two builds of the same evidence at once (two cloud instances) race for the same event number; the loser
  // reads the winner's event and finds nothing left to record, so the viewer never sees the race.
  for (let attempt = 1; ; attempt++)
    try {
      await applyComparisonVerdicts(deps, comparison);
      return;
    } catch (err) {
      if (!(err instanceof ApiError && err.code === 'rollout-changed') || attempt === 3) throw err;
    }
}
