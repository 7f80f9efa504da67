import type { Job } from '../../schemas/job.ts';
import { STANDARD_SUBGROUP_ATTRIBUTES } from '../../schemas/site-report.ts';
import type { AgentSettings } from '../config.ts';
import { type ParsedLabels, readLabelsFile } from '../labels.ts';
import { JobFailure } from '../pipeline/job-failure.ts';
import { epsilonSpent, exceedsBudget } from '../privacy/ledger.ts';
import { allowListedColumns } from '../privacy/subgroup-columns.ts';
import { type ReleasePolicy, readReleasePolicy } from '../review/policy.ts';
import type { AgentDb } from '../state/store.ts';

/** The subgroups every report carries, read from the DICOM headers. */
export const STANDARD_SUBGROUPS: readonly string[] = STANDARD_SUBGROUP_ATTRIBUTES;

/**
 * Step check-budget: refused before any inference (privacy-budget-exhausted) — a release the campaign's ε
 * budget cannot pay for must not be computed at all.
 */
export async function checkBudget(db: AgentDb, settings: AgentSettings, job: Job): Promise<void> {
  if (!settings.dp) return;
  const spent = await epsilonSpent(db, job.campaignId);
  if (exceedsBudget(spent, settings.dp.epsilonPerReport, settings.dp.budgetPerCampaign))
    throw new JobFailure('privacy-budget-exhausted');
}

export interface JobInputs {
  policy: ReleasePolicy | null;
  labels: ParsedLabels;
  /** The campaign's extra (labels.csv) subgroup columns. */
  requested: string[];
}

/**
 * Step read-inputs: the release policy and the labels, read before the (long) inference so a bad file fails
 * fast with its one-line message (labels-unreadable). The campaign only requests labels.csv columns: a column
 * this site did not allow-list is never read.
 */
export function readJobInputs(stateDir: string, settings: AgentSettings, job: Job): JobInputs {
  const policy = readReleasePolicy(stateDir);
  const requested = (job.subgroupAttributes ?? []).filter((a) => !STANDARD_SUBGROUPS.includes(a));
  try {
    const labels = readLabelsFile(settings.labels, allowListedColumns(requested, settings.releaseColumns));
    return { policy, labels, requested };
  } catch (err) {
    throw new JobFailure('labels-unreadable', (err as Error).message);
  }
}
