/**
 * The privacy gate: the one place every outgoing site report passes. Pure function, no I/O.
 *
 * With minimum cell size k = opts.minCell (k <= 1 suppresses nothing), `privacyGate` returns a copy of the
 * report in which:
 *
 * 1. Confusion cells. A count c is "small" when 1 <= c <= k − 1. The report releases the class totals
 *    positives = tp + fn and negatives = fp + tn, so a cell could be recovered from its partner in the same
 *    class by subtraction. Hence per class: if tp or fn is small (or already null), both tp and fn become null;
 *    if fp or tn is small (or already null), both fp and tn become null. Within a class both cells are then
 *    hidden and only their known sum remains; no released count or total determines either of them.
 * 2. Metrics. Sensitivity (tp, fn), specificity (tn, fp), PPV (tp, fp) and NPV (tn, fn) are withheld when any
 *    cell they involve is null: estimate, ciLow, ciHigh, numerator and denominator become null and reason
 *    'suppressed' (the method is kept). A metric that came in suppressed stays suppressed.
 * 3. Histogram. Adjacent bins are merged jointly for both classes, so the released edges are a subset of the
 *    campaign's edges shared by both classes, until every released bin count of each class is 0 or >= k.
 *    Among all such merges the one releasing the most bins is chosen (dynamic programming over bin
 *    boundaries; ties go to the merge whose last group is smallest, scanning right to left). Totals stay equal
 *    to positives/negatives. When a class total is itself in 1..k−1 no merge can satisfy the rule; the
 *    histogram is then one bin [first edge, last edge] whose counts are the class totals, which the report
 *    releases anyway.
 * 4. `suppressed` lists every suppressed field (confusion cells and metrics, in SUPPRESSIBLE_FIELDS order) and
 *    `minCell` becomes max(report.minCell, k): a report gated before at a larger k still satisfies it, and
 *    the gate never releases what an earlier pass withheld, so gating twice gives the same report.
 * 5. The input and the result are parsed with the strict SiteReport schema: unknown fields (anywhere) or
 *    invalid values throw a PrivacyGateError, and so does an inconsistent input (totals that do not add up, metrics whose counts
 *    differ from the confusion cells, histogram totals that differ from the class totals) — an inconsistent
 *    report could reveal what suppression hides.
 *
 * Not covered here (the schema releases them as plain counts): cases, positives, negatives, images and the
 * exclusion counts, and the AUC, which is released even for small classes.
 */
import { SiteReport, SUPPRESSIBLE_FIELDS } from '../../schemas/site-report.ts';

export class PrivacyGateError extends Error {
  override name = 'PrivacyGateError';
}

export interface PrivacyGateOptions {
  /** Minimum cell size k: released counts are 0 or >= k. 0 (or 1) disables suppression. */
  minCell: number;
}

type SuppressibleField = (typeof SUPPRESSIBLE_FIELDS)[number];
type Cell = 'tp' | 'fp' | 'tn' | 'fn';
type MetricName = 'sensitivity' | 'specificity' | 'ppv' | 'npv';

/** The cells each metric is computed from: [numerator cell, other denominator cell]. */
const METRIC_CELLS: Record<MetricName, readonly [Cell, Cell]> = {
  sensitivity: ['tp', 'fn'],
  specificity: ['tn', 'fp'],
  ppv: ['tp', 'fp'],
  npv: ['tn', 'fn'],
};

function describe(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
}

function fail(message: string): never {
  throw new PrivacyGateError(`privacy gate: ${message}`);
}

function checkConsistency(r: SiteReport): void {
  if (r.cases !== r.positives + r.negatives) fail(`cases (${r.cases}) != positives + negatives`);
  const { tp, fp, tn, fn } = r.confusion;
  if (tp !== null && fn !== null && tp + fn !== r.positives) fail('tp + fn != positives');
  if (fp !== null && tn !== null && fp + tn !== r.negatives) fail('fp + tn != negatives');
  for (const name of Object.keys(METRIC_CELLS) as MetricName[]) {
    const metric = r[name];
    const [a, b] = METRIC_CELLS[name];
    const ca = r.confusion[a];
    const cb = r.confusion[b];
    if (metric.numerator !== null && ca !== null && metric.numerator !== ca)
      fail(`${name}.numerator != ${a}`);
    if (metric.denominator !== null && ca !== null && cb !== null && metric.denominator !== ca + cb) {
      fail(`${name}.denominator != ${a} + ${b}`);
    }
  }
  const h = r.histogram;
  if (h.positives.length !== h.edges.length - 1 || h.negatives.length !== h.edges.length - 1) {
    fail('histogram needs one count per bin');
  }
  for (let i = 1; i < h.edges.length; i++) {
    if (!((h.edges[i] as number) > (h.edges[i - 1] as number)))
      fail('histogram edges must be strictly increasing');
  }
  const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
  if (sum(h.positives) !== r.positives) fail('histogram positives do not add up to positives');
  if (sum(h.negatives) !== r.negatives) fail('histogram negatives do not add up to negatives');
}

/**
 * Merges adjacent bins (jointly for both classes) into the largest number of groups in which each class's
 * count is 0 or >= k. Returns the indices of the kept edges, or null when no merge works.
 */
function mergePlan(pos: readonly number[], neg: readonly number[], k: number): number[] | null {
  const bins = pos.length;
  const pp = [0];
  const pn = [0];
  for (let b = 0; b < bins; b++) {
    pp.push((pp[b] as number) + (pos[b] as number));
    pn.push((pn[b] as number) + (neg[b] as number));
  }
  const ok = (c: number) => c === 0 || c >= k;
  // best[j]: most groups partitioning bins [0, j); -1 when impossible. prev[j]: start of the last group.
  const best = new Array<number>(bins + 1).fill(-1);
  const prev = new Array<number>(bins + 1).fill(-1);
  best[0] = 0;
  for (let j = 1; j <= bins; j++) {
    for (let i = j - 1; i >= 0; i--) {
      const bi = best[i] as number;
      if (bi < 0 || bi + 1 <= (best[j] as number)) continue;
      if (ok((pp[j] as number) - (pp[i] as number)) && ok((pn[j] as number) - (pn[i] as number))) {
        best[j] = bi + 1;
        prev[j] = i;
      }
    }
  }
  if ((best[bins] as number) < 0) return null;
  const kept: number[] = [];
  for (let j = bins; j > 0; j = prev[j] as number) kept.push(j);
  kept.push(0);
  return kept.reverse();
}

function mergeHistogram(h: SiteReport['histogram'], k: number): SiteReport['histogram'] {
  const plan = mergePlan(h.positives, h.negatives, k) ?? [0, h.edges.length - 1];
  const edges = plan.map((e) => h.edges[e] as number);
  const positives: number[] = [];
  const negatives: number[] = [];
  for (let g = 0; g + 1 < plan.length; g++) {
    let p = 0;
    let n = 0;
    for (let b = plan[g] as number; b < (plan[g + 1] as number); b++) {
      p += h.positives[b] as number;
      n += h.negatives[b] as number;
    }
    positives.push(p);
    negatives.push(n);
  }
  return { edges, positives, negatives };
}

/** Applies the minimum-cell-size rules above to a site report and returns the releasable copy. */
export function privacyGate(report: SiteReport, opts: PrivacyGateOptions): SiteReport {
  const k = opts.minCell;
  if (!Number.isInteger(k) || k < 0) fail(`minCell must be a non-negative integer, got ${k}`);
  const input = SiteReport.safeParse(report);
  if (!input.success)
    fail(`the report does not match the strict cairn.site-report/v1 schema: ${describe(input.error)}`);
  const r = structuredClone(input.data);
  checkConsistency(r);

  const small = (c: number | null) => c !== null && c >= 1 && c < k;
  const conf = r.confusion;
  for (const [a, b] of [
    ['tp', 'fn'],
    ['fp', 'tn'],
  ] as const) {
    if (small(conf[a]) || small(conf[b]) || conf[a] === null || conf[b] === null) {
      conf[a] = null;
      conf[b] = null;
    }
  }

  for (const name of Object.keys(METRIC_CELLS) as MetricName[]) {
    const metric = r[name];
    const [a, b] = METRIC_CELLS[name];
    const withheld =
      metric.reason === 'suppressed' || metric.numerator === null || metric.denominator === null;
    if (withheld || conf[a] === null || conf[b] === null) {
      r[name] = {
        estimate: null,
        ciLow: null,
        ciHigh: null,
        numerator: null,
        denominator: null,
        method: metric.method,
        reason: 'suppressed',
      };
    }
  }

  r.histogram = mergeHistogram(r.histogram, k);

  const suppressed: SuppressibleField[] = [];
  for (const field of SUPPRESSIBLE_FIELDS) {
    const isNull = field.startsWith('confusion.')
      ? conf[field.slice('confusion.'.length) as Cell] === null
      : r[field as MetricName].reason === 'suppressed';
    if (isNull) suppressed.push(field);
  }
  r.suppressed = suppressed;
  r.minCell = Math.max(r.minCell, k);

  // Parsed again on the way out: the gate must never emit something the contract does not allow.
  const parsed = SiteReport.safeParse(r);
  if (!parsed.success)
    fail(`the gated report does not match cairn.site-report/v1: ${describe(parsed.error)}`);
  return parsed.data;
}
