import type { SiteReport } from '../../schemas/site-report.ts';
import { type CampaignRules, checkStoredReport } from '../reports/check-report.ts';
import type { ComparedReport } from './build-comparison.ts';

/** A `reports` row as the comparison reads it (with its site's region). */
export interface StoredReportRow {
  reportId: string;
  modelId: string;
  siteId: string;
  regionId: string;
  /** The report column as stored: JSON text, or anything a row written around the API holds. */
  report: unknown;
  voidedAt: Date | null;
  voidReason: string | null;
}

/** What checking a stored report column gives: the report, or the code of the rule it failed. */
export type StoredCheck = { report: SiteReport; invalid?: undefined } | { report: null; invalid: string };

/** The report column, parsed and checked with the strict schema and the campaign's rules. */
export function checkStored(value: unknown, campaign: CampaignRules): StoredCheck {
  const check = checkStoredReport(parseStored(value), campaign);
  if (!check.ok || !check.report) return { report: null, invalid: check.ok ? 'invalid-report' : check.code };
  return { report: check.report };
}

/**
 * A stored row, checked again as it is read back: ingest checked it, but the row may predate the check or have
 * been written around the API. One that fails is listed as invalid with the rule's code and enters no pool,
 * so no row, whatever it holds, can make the comparison fail. `check` is that of the row's report column when
 * the caller already has it (checked-rows.ts).
 */
export function comparedFromStored(
  row: StoredReportRow,
  campaign: CampaignRules,
  check: StoredCheck = checkStored(row.report, campaign),
): ComparedReport {
  const base = { modelId: row.modelId, siteId: row.siteId, regionId: row.regionId, reportId: row.reportId };
  const voided = row.voidedAt ? { voided: { reason: row.voidReason ?? '', at: row.voidedAt } } : {};
  if (check.report === null) return { ...base, report: null, invalid: check.invalid, ...voided };
  return { ...base, report: check.report, ...voided };
}

function parseStored(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}
