import { isSubgroupRule } from '../../schemas/criteria.ts';
import { type AttachedCriteria, withVerdicts } from '../criteria/verdict.ts';
import type { CampaignRules } from '../reports/check-report.ts';
import { buildComparison, type ComparedModel, type ContrastSelection } from './build-comparison.ts';
import { comparedFromStored, type StoredReportRow } from './stored-report.ts';

/** What a comparison is built from: the rows as read (each checked again as it is read back) and the campaign. */
export interface ComparisonInput {
  campaignId: string;
  generatedAt: Date;
  models: ComparedModel[];
  rows: StoredReportRow[];
  campaign: CampaignRules;
  contrasts: ContrastSelection;
  /** The campaign's acceptance criteria, when it has them: the comparison then carries their verdicts. */
  criteria?: AttachedCriteria | null;
}

/** The comparison as the JSON text the API sends. */
export function comparisonText(input: ComparisonInput): string {
  const comparison = buildComparison({
    campaignId: input.campaignId,
    generatedAt: input.generatedAt,
    models: input.models,
    reports: input.rows.map((r) => comparedFromStored(r, input.campaign)),
    contrasts: input.contrasts,
    subgroups: input.criteria?.criteria.rules.some(isSubgroupRule) ?? false,
  });
  return JSON.stringify(input.criteria ? withVerdicts(comparison, input.criteria) : comparison);
}
