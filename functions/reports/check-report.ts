import { SiteReport, type Subgroup } from '../../schemas/site-report.ts';
import {
  checkBlock,
  checkCell,
  checkCount,
  fail,
  type ReportCheckCode,
  ReportCheckFailure,
} from './check-block.ts';

export { REPORT_CHECK_CODES, type ReportCheckCode } from './check-block.ts';

/**
 * The cloud's own check of a site report against its campaign, independent of the agent that made it: the
 * numbers must be internally consistent (they follow from the counts released with them) and nothing released
 * may be a count in 1..k−1 (k: the campaign's minimum cell size, or the report's own if larger). A
 * withheld class must be withheld everywhere: nothing conditional on it may remain. Pure; the API runs it on
 * submission, ingest again before storing, and the comparison on every stored row it reads back.
 */

export interface CampaignRules {
  binEdges: readonly number[];
  minCell: number;
}

export type ReportCheck =
  | { ok: true }
  | { ok: false; code: ReportCheckCode | 'invalid-report'; message: string };

/** A calibration intercept or slope beyond this is a numerical blow-up, not a calibration. */
const MAX_CALIBRATION_COEFFICIENT = 1e6;

export function checkReport(report: SiteReport, campaign: CampaignRules): ReportCheck {
  try {
    checkOrThrow(report, campaign);
    return { ok: true };
  } catch (err) {
    if (err instanceof ReportCheckFailure) return { ok: false, code: err.code, message: err.message };
    // A rule that could not even be evaluated (e.g. counts the interval functions refuse) is a bad report.
    return { ok: false, code: 'inconsistent-counts', message: 'The report could not be checked.' };
  }
}

/** For a stored row read back: it may be anything, so it is parsed with the strict schema first. */
export function checkStoredReport(
  json: unknown,
  campaign: CampaignRules,
): ReportCheck & { report?: SiteReport } {
  const parsed = SiteReport.safeParse(json);
  if (!parsed.success)
    return { ok: false, code: 'invalid-report', message: 'The stored report is not a cairn.site-report/v1.' };
  const check = checkReport(parsed.data, campaign);
  return check.ok ? { ...check, report: parsed.data } : check;
}

function checkOrThrow(r: SiteReport, campaign: CampaignRules): void {
  checkFinite(r, 'report');
  if (r.minCell < campaign.minCell)
    fail('min-cell-below-campaign', "minCell is below the campaign's minimum cell size.");
  const k = Math.max(r.minCell, campaign.minCell);
  checkCount(r.images.seen, 'images.seen');
  checkCount(r.images.used, 'images.used');
  if (r.images.used !== null && r.images.seen !== null && r.images.used > r.images.seen)
    fail('inconsistent-counts', 'images.used is greater than images.seen.');
  for (const [reason, n] of Object.entries(r.excluded)) checkCount(n, `excluded.${reason}`);
  checkWithheld(r);
  checkBlock(r, k, '');
  checkHistogram(r, campaign, k);
  checkSubgroups(r, k);
  checkPaired(r.paired);
  checkCalibration(r.calibration, 'calibration');
}

/** JSON cannot carry NaN or ∞, but a row written around the API can hold anything its column accepts. */
function checkFinite(value: unknown, where: string): void {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) fail('absurd-value', `${where} is not a finite number.`);
  } else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) checkFinite(v, `${where}[${i}]`);
  } else if (value !== null && typeof value === 'object')
    for (const [key, v] of Object.entries(value))
      checkFinite(v, `${where}.${/^\w{1,40}$/.test(key) ? key : '?'}`);
}

/**
 * A class is withheld exactly when its total is null, and then its cells, its histogram, `cases`, the AUC,
 * calibration, the paired comparison and every subgroup are withheld too (each would be conditional on it or
 * give its total away). The proportions follow from the cells (checkBlock).
 */
function checkWithheld(r: SiteReport): void {
  const classes = new Set(r.withheld?.classes ?? []);
  for (const c of ['positives', 'negatives'] as const) {
    if ((r[c] === null) !== classes.has(c))
      fail('inconsistent-withheld', `${c} is null exactly when the class is listed in withheld.`);
    if ((r.histogram[c] === null) !== classes.has(c))
      fail('inconsistent-withheld', `histogram.${c} is null exactly when the class is withheld.`);
  }
  if (classes.size === 0) {
    if (r.cases === null) fail('inconsistent-withheld', 'cases is null but no class is withheld.');
    return;
  }
  const withheld = (field: string): never =>
    fail('inconsistent-withheld', `${field} is released although a class is withheld.`);
  if (r.cases !== null) withheld('cases');
  if (classes.has('positives') && (r.confusion.tp !== null || r.confusion.fn !== null)) withheld('confusion');
  if (classes.has('negatives') && (r.confusion.fp !== null || r.confusion.tn !== null)) withheld('confusion');
  if (r.auc.estimate !== null || r.auc.se !== null) withheld('auc');
  const cal = r.calibration;
  if (cal && [cal.brier, cal.ece, cal.intercept, cal.slope].some((v) => v !== null)) withheld('calibration');
  const p = r.paired;
  if (p && [p.aucA, p.aucB, p.difference, p.se, p.z, p.p, p.covariance].some((v) => v !== null))
    withheld('paired');
  if ((r.subgroups ?? []).length > 0) withheld('subgroups');
}

/** On the campaign's edges (the gate may only merge bins), adding up to the class totals, each bin 0 or >= k. */
function checkHistogram(r: SiteReport, campaign: CampaignRules, k: number): void {
  const { edges } = r.histogram;
  const allowed = new Set(campaign.binEdges);
  const first = campaign.binEdges[0];
  const last = campaign.binEdges[campaign.binEdges.length - 1];
  if (edges[0] !== first || edges[edges.length - 1] !== last)
    fail('foreign-histogram-edges', "histogram.edges do not start and end on the campaign's edges.");
  for (let i = 0; i < edges.length; i++) {
    if (!allowed.has(edges[i] as number))
      fail('foreign-histogram-edges', `histogram.edges[${i}] is not one of the campaign's bin edges.`);
    if (i > 0 && !((edges[i] as number) > (edges[i - 1] as number)))
      fail('foreign-histogram-edges', 'histogram.edges are not strictly increasing.');
  }
  for (const c of ['positives', 'negatives'] as const) {
    const bins = r.histogram[c];
    if (bins === null) continue;
    bins.forEach((n, i) => {
      checkCount(n, `histogram.${c}[${i}]`);
      checkCell(n, k, `histogram.${c}[${i}]`);
    });
    if (bins.reduce((s, n) => s + n, 0) !== r[c])
      fail('inconsistent-counts', `histogram.${c} do not add up to ${c}.`);
  }
}

/**
 * Each subgroup obeys the block rules; the groups of one attribute partition the site (their totals add up to
 * the site's), and a class pair the site releases is never hidden in exactly one group of an attribute (the
 * site's cells minus the other groups' would give it away).
 */
function checkSubgroups(r: SiteReport, k: number): void {
  const byAttribute = new Map<string, { g: Subgroup; i: number }[]>();
  (r.subgroups ?? []).forEach((g, i) => {
    const where = `subgroups[${i}]`;
    checkBlock(g, k, where);
    checkCalibration(g.calibration, `${where}.calibration`);
    const list = byAttribute.get(g.attribute) ?? [];
    if (list.some((x) => x.g.value === g.value))
      fail('inconsistent-counts', `${where} repeats a value of its attribute.`);
    list.push({ g, i });
    byAttribute.set(g.attribute, list);
  });
  for (const list of byAttribute.values()) {
    const where = `subgroups[${list[0]?.i}]`;
    for (const f of ['cases', 'positives', 'negatives'] as const) {
      if (list.reduce((s, x) => s + x.g[f], 0) !== r[f])
        fail(
          'inconsistent-counts',
          `the ${f} of the groups of ${where}'s attribute do not add up to the site's.`,
        );
    }
    for (const cell of ['tp', 'fp'] as const) {
      const hidden = list.filter((x) => x.g.confusion[cell] === null);
      if (r.confusion[cell] !== null && hidden.length === 1)
        fail('under-suppressed', `subgroups[${hidden[0]?.i}] alone hides a class pair the site releases.`);
    }
  }
}

function checkPaired(p: SiteReport['paired']): void {
  if (!p) return;
  if (
    p.difference !== null &&
    p.aucA !== null &&
    p.aucB !== null &&
    Math.abs(p.difference - (p.aucA - p.aucB)) > 1e-6
  )
    fail('inconsistent-estimate', 'paired.difference is not aucA − aucB.');
  if (p.se !== null && p.se > 1) fail('absurd-value', 'paired.se is not a plausible standard error.');
  for (const row of p.covariance ?? [])
    for (const v of row) if (Math.abs(v) > 1) fail('absurd-value', 'paired.covariance is not plausible.');
  if (p.covariance && (p.covariance[0][0] < 0 || p.covariance[1][1] < 0))
    fail('absurd-value', 'paired.covariance has a negative variance.');
}

function checkCalibration(c: SiteReport['calibration'], where: string): void {
  if (!c) return;
  for (const [name, v] of [
    ['intercept', c.intercept],
    ['slope', c.slope],
  ] as const)
    if (v !== null && Math.abs(v) > MAX_CALIBRATION_COEFFICIENT)
      fail('absurd-value', `${where}.${name} is not a plausible coefficient.`);
}
