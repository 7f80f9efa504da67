import type { CampaignRules } from '../reports/check-report.ts';
import { checkStored, type StoredCheck, type StoredReportRow } from './stored-report.ts';

/**
 * Stored rows checked once. Parsing and checking a report is most of a comparison's cost (10,000 rows: a
 * second), and every new report or void means a new comparison of the same rows. The check is pure in the
 * stored text and the campaign's rules, so a row whose text and rules are exactly those of its last check
 * gets that outcome again: whatever a row written around the API holds, it is checked as it is now. Bounded;
 * the least recently used go first. The reports kept are shared by the comparisons built from them, which
 * only read them.
 */
export function createCheckedRows(capacity = 20_000) {
  const entries = new Map<string, { text: string; rules: string; check: StoredCheck }>();
  return {
    check(row: StoredReportRow, campaign: CampaignRules, rules: string): StoredCheck {
      const text = row.report;
      if (typeof text !== 'string') return checkStored(text, campaign);
      const hit = entries.get(row.reportId);
      entries.delete(row.reportId);
      const check = hit && hit.text === text && hit.rules === rules ? hit.check : checkStored(text, campaign);
      entries.set(row.reportId, { text, rules, check });
      if (entries.size > capacity) entries.delete(entries.keys().next().value as string);
      return check;
    },
  };
}

export type CheckedRows = ReturnType<typeof createCheckedRows>;

/** The campaign's rules as one string, so that a row checked under other rules is checked again. */
export function rulesKey(campaign: CampaignRules): string {
  return JSON.stringify([campaign.binEdges, campaign.minCell]);
}
