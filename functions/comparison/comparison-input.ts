import { isSubgroupRule } from '../../schemas/criteria.ts';
import { type AttachedCriteria, withVerdicts } from '../criteria/verdict.ts';
import type { CampaignRules } from '../reports/check-report.ts';
import {
  buildComparison,
  type ComparedModel,
  type ComparedReport,
  type ContrastSelection,
} from './build-comparison.ts';
import { type CheckedRows, rulesKey } from './checked-rows.ts';
import type { PoolMemo } from './pool-memo.ts';
import { comparedFromStored, type StoredReportRow } from './stored-report.ts';

/** What a comparison is built from, but its rows: the campaign, the models and contrasts asked for. */
export interface ComparisonRequest {
  campaignId: string;
  generatedAt: Date;
  models: ComparedModel[];
  campaign: CampaignRules;
  contrasts: ContrastSelection;
  /** The campaign's acceptance criteria, when it has them: the comparison then carries their verdicts. */
  criteria?: AttachedCriteria | null;
}

/** A request with the rows as read (each checked again as it is read back). */
export interface ComparisonInput extends ComparisonRequest {
  rows: StoredReportRow[];
}

/**
 * A comparison put together as its rows arrive, page by page: each row is checked when added (through
 * `checks`, when given, so a row already checked is not checked again), and the text is built at the end
 * (with the pools of unchanged groups from `memo`, when given).
 */
export function comparisonAssembly(request: ComparisonRequest, checks?: CheckedRows, memo?: PoolMemo) {
  const rules = rulesKey(request.campaign);
  const reports: ComparedReport[] = [];
  return {
    add(rows: readonly StoredReportRow[]): void {
      for (const row of rows)
        reports.push(comparedFromStored(row, request.campaign, checks?.check(row, request.campaign, rules)));
    },
    /** The comparison as the JSON text the API sends. */
    text(): string {
      const comparison = buildComparison({
        campaignId: request.campaignId,
        generatedAt: request.generatedAt,
        models: request.models,
        reports,
        contrasts: request.contrasts,
        subgroups: request.criteria?.criteria.rules.some(isSubgroupRule) ?? false,
        ...(memo ? { memo } : {}),
      });
      return JSON.stringify(request.criteria ? withVerdicts(comparison, request.criteria) : comparison);
    },
  };
}

/** The comparison as the JSON text the API sends. */
export function comparisonText(input: ComparisonInput, checks?: CheckedRows, memo?: PoolMemo): string {
  const assembly = comparisonAssembly(input, checks, memo);
  assembly.add(input.rows);
  return assembly.text();
}
