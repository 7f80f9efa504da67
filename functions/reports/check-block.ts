import type { Auc, Proportion, SiteReport } from '../../schemas/site-report.ts';
import { clopperPearson, wilson } from '../../stats/binomial.ts';

/**
 * The rules every block of counts in a site report obeys (the site itself and each subgroup): its totals add
 * up, its proportions follow from its confusion cells, its AUC lies in its interval, and nothing it releases
 * is a count in 1..k−1. Failures are thrown as ReportCheckFailure, named by field path only: a message never
 * carries a value from the report.
 */

export const REPORT_CHECK_CODES = [
  'inconsistent-counts',
  'inconsistent-estimate',
  'inconsistent-withheld',
  'absurd-value',
  'foreign-histogram-edges',
  'under-suppressed',
  'min-cell-below-campaign',
] as const;
export type ReportCheckCode = (typeof REPORT_CHECK_CODES)[number];

export class ReportCheckFailure extends Error {
  override name = 'ReportCheckFailure';
  constructor(
    readonly code: ReportCheckCode,
    message: string,
  ) {
    super(message);
  }
}

export function fail(code: ReportCheckCode, message: string): never {
  throw new ReportCheckFailure(code, message);
}

/** No site evaluates a billion studies: a larger count is a forgery or a bug, not a hospital. */
export const MAX_COUNT = 1e9;
/** An estimate is x/n computed in doubles: anything further off was not computed from these counts. */
const ESTIMATE_TOLERANCE = 1e-9;
/** Interval ends come from the same formula, but an older agent or another platform may round differently. */
const INTERVAL_TOLERANCE = 1e-6;

type Cell = 'tp' | 'fp' | 'tn' | 'fn';
type MetricName = 'sensitivity' | 'specificity' | 'ppv' | 'npv';
/** [numerator cell, the other cell of the denominator]. */
const METRIC_CELLS: Record<MetricName, readonly [Cell, Cell]> = {
  sensitivity: ['tp', 'fn'],
  specificity: ['tn', 'fp'],
  ppv: ['tp', 'fp'],
  npv: ['tn', 'fn'],
};

export type Block = Pick<
  SiteReport,
  'cases' | 'positives' | 'negatives' | 'confusion' | 'sensitivity' | 'specificity' | 'ppv' | 'npv' | 'auc'
>;

const at = (where: string, field: string) => (where ? `${where}.${field}` : field);

export function checkCount(value: number | null | undefined, field: string): void {
  if (value === null || value === undefined) return;
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_COUNT)
    fail('absurd-value', `${field} is not a plausible count.`);
}

/** A released count must be 0 or at least k (the campaign's minimum cell size). */
export function checkCell(value: number | null | undefined, k: number, field: string): void {
  if (value !== null && value !== undefined && value >= 1 && value < k)
    fail('under-suppressed', `${field} releases a count below the campaign's minimum cell size.`);
}

export function checkBlock(b: Block, k: number, where: string): void {
  const { tp, fp, tn, fn } = b.confusion;
  const counts = { cases: b.cases, positives: b.positives, negatives: b.negatives };
  for (const [name, v] of Object.entries(counts)) checkCount(v, at(where, name));
  for (const [name, v] of Object.entries(b.confusion)) checkCount(v, at(where, `confusion.${name}`));

  if (
    b.cases !== null &&
    b.positives !== null &&
    b.negatives !== null &&
    b.cases !== b.positives + b.negatives
  )
    fail('inconsistent-counts', `${at(where, 'cases')} is not positives + negatives.`);
  checkPair(tp, fn, b.positives, where, ['tp', 'fn'], 'positives');
  checkPair(fp, tn, b.negatives, where, ['fp', 'tn'], 'negatives');

  for (const [name, v] of Object.entries(counts)) checkCell(v, k, at(where, name));
  for (const [name, v] of Object.entries(b.confusion)) checkCell(v, k, at(where, `confusion.${name}`));

  for (const name of Object.keys(METRIC_CELLS) as MetricName[]) {
    const [a, c] = METRIC_CELLS[name];
    checkProportion(b[name], b.confusion[a], b.confusion[c], at(where, name));
  }
  checkAuc(b.auc, b.positives, b.negatives, at(where, 'auc'));
}

/** The two cells of one class: both released or both withheld (one would give the other away), summing to it. */
function checkPair(
  a: number | null,
  c: number | null,
  total: number | null,
  where: string,
  names: readonly [Cell, Cell],
  totalName: string,
) {
  const pair = `${at(where, `confusion.${names[0]}`)} and ${names[1]}`;
  if ((a === null) !== (c === null))
    fail('under-suppressed', `${pair} are not withheld together (one gives the other away).`);
  if (a === null || c === null) return;
  if (total === null)
    fail('inconsistent-withheld', `${pair} are released while ${at(where, totalName)} is withheld.`);
  if (a + c !== total) fail('inconsistent-counts', `${pair} do not add up to ${at(where, totalName)}.`);
}

const near = (a: number | null, b: number | null, tol: number) =>
  a !== null && b !== null && Math.abs(a - b) <= tol;

export function checkProportion(p: Proportion, cellA: number | null, cellB: number | null, where: string) {
  const x = p.numerator;
  const n = p.denominator;
  if ((x === null) !== (n === null))
    fail('inconsistent-counts', `${where} releases only one of its numerator and denominator.`);
  if (x === null || n === null) {
    if (p.estimate !== null || p.ciLow !== null || p.ciHigh !== null)
      fail('under-suppressed', `${where} releases an estimate without its counts.`);
    return;
  }
  checkCount(x, `${where}.numerator`);
  checkCount(n, `${where}.denominator`);
  if (x > n) fail('inconsistent-counts', `${where}.numerator is greater than its denominator.`);
  if (cellA === null || cellB === null)
    fail('under-suppressed', `${where} releases counts whose confusion cells are withheld.`);
  if (x !== cellA || n !== cellA + cellB)
    fail('inconsistent-counts', `${where}'s numerator and denominator do not match its confusion cells.`);
  if (n === 0) {
    if (p.estimate !== null || p.ciLow !== null || p.ciHigh !== null)
      fail('inconsistent-estimate', `${where} has an estimate over a denominator of 0.`);
    return;
  }
  const expected = p.method === 'wilson' ? wilson(x, n) : clopperPearson(x, n);
  if (!near(p.estimate, expected.estimate, ESTIMATE_TOLERANCE))
    fail('inconsistent-estimate', `${where}.estimate is not numerator / denominator.`);
  if (
    !near(p.ciLow, expected.ciLow, INTERVAL_TOLERANCE) ||
    !near(p.ciHigh, expected.ciHigh, INTERVAL_TOLERANCE)
  )
    fail('inconsistent-estimate', `${where}'s interval is not the ${p.method} interval of its counts.`);
}

export function checkAuc(a: Auc, positives: number | null, negatives: number | null, where: string) {
  if (a.estimate === null) {
    if (a.se !== null || a.ciLow !== null || a.ciHigh !== null)
      fail('inconsistent-estimate', `${where} has a standard error or interval but no estimate.`);
    return;
  }
  if (positives === 0 || negatives === 0)
    fail('inconsistent-estimate', `${where} has an estimate although a class has no cases.`);
  if (a.se !== null && !(Number.isFinite(a.se) && a.se >= 0 && a.se <= 1))
    fail('absurd-value', `${where}.se is not a plausible standard error.`);
  if ((a.ciLow === null) !== (a.ciHigh === null))
    fail('inconsistent-estimate', `${where} has only one end of its interval.`);
  if (a.ciLow === null || a.ciHigh === null) return;
  if (a.ciLow > a.estimate + ESTIMATE_TOLERANCE || a.ciHigh < a.estimate - ESTIMATE_TOLERANCE)
    fail('inconsistent-estimate', `${where}.estimate lies outside its interval.`);
}
