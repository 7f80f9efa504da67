/**
 * The privacy gate: the one place every outgoing site report passes. Pure function, no I/O.
 *
 * With minimum cell size k = opts.minCell (k <= 1 suppresses nothing), `privacyGate` returns a copy of the
 * report in which:
 *
 * 0. Small classes. When positives or negatives is in 1..k−1, that class is withheld (./class-size.ts): its
 *    total, histogram and confusion cells, `cases` and `images` (which would give its total away by
 *    subtraction), every proportion involving it (PPV and NPV always), AUC, calibration, the paired
 *    comparison and the subgroups; `withheld` names the classes, reason 'insufficient-class-size'. The
 *    rules below then apply to what remains (the released class's cells, metrics and histogram).
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
 *    histogram is then one bin [first edge, last edge] whose counts are the class totals (only reached with
 *    k <= 1 after rule 0, or for a class total of 0). A withheld class's histogram is null and the merge
 *    looks at the released class only, so the released edges say nothing about the withheld one.
 * 4. Subgroups (per attribute, "the same suppression rules"). A group is small when its cases, positives or
 *    negatives is in 1..k−1. Small groups are not released by value: they are merged into one group with the
 *    reserved value 'other' (counts and confusion cells summed, proportions recomputed, AUC null with reason
 *    'merged' — the gate has no per-case scores — and no calibration). When 'other' is itself small, the
 *    smallest released groups (by cases, then value) join it until it is not, or until every group has
 *    joined (then 'other' is the whole site, whose totals the report releases anyway). Every released group
 *    then gets rules 1–2 on its own confusion cells and metrics, and its own `suppressed` list. (After rule 0
 *    the site's classes are 0 or >= k whenever subgroups remain, so every released group's classes are too.) A group's
 *    cells could still be recovered from the site's cells minus the other groups' (the groups of one
 *    attribute partition the site); so when the site releases a class pair and exactly one group of an
 *    attribute hides it, the same pair is also hidden in the group with the smallest non-zero class total,
 *    or, when no such group exists, in the site's own confusion (complementary suppression). Groups with 0
 *    cases are dropped. Per attribute, the groups' cases/positives/negatives must add up to the site's.
 * 5. `suppressed` lists every suppressed or withheld field (cells and metrics, in SUPPRESSIBLE_FIELDS order) and
 *    `minCell` becomes max(report.minCell, k): a report gated before at a larger k still satisfies it, and
 *    the gate never releases what an earlier pass withheld, so gating twice gives the same report.
 * 6. The input and the result are parsed with the strict SiteReport schema and checked for consistency
 *    (./consistency.ts): unknown fields (anywhere), invalid values, totals that do not add up, metrics whose
 *    counts differ from the confusion cells, histogram totals that differ from the class totals, or a null
 *    total that `withheld` does not name (or with `cases`, `images` or subgroups still released) throw a
 *    PrivacyGateError — an inconsistent report could reveal what suppression hides.
 *
 * 7. Optional differential privacy (opts.dp): discrete Laplace noise on the confusion cells and histograms
 *    before rules 0–5, which then apply to the noisy counts (see ./differential-privacy.ts); only a full,
 *    never-gated report can be noised.
 *
 * Not covered here (the schema releases them as plain counts): the exclusion counts (files and label rows
 * without a usable class), and, when both classes have 0 or >= k cases, cases, positives, negatives, images,
 * the AUC, calibration and the paired comparison (site-level scalars computed from every case).
 */
import {
  type Proportion,
  SiteReport,
  SUPPRESSIBLE_FIELDS,
  type Subgroup,
} from '../../schemas/site-report.ts';
import { wilson } from '../../stats/binomial.ts';
import { type FullSiteReport, isFullReport } from '../report/site-report.ts';
import { withholdSmallClasses } from './class-size.ts';
import {
  type Block,
  byAttribute,
  type Cell,
  checkConsistency,
  fail,
  METRIC_CELLS,
  type MetricName,
  sum,
} from './consistency.ts';
import { applyDifferentialPrivacy, type DifferentialPrivacyOptions } from './differential-privacy.ts';

export interface PrivacyGateOptions {
  /** Minimum cell size k: released counts are 0 or >= k. 0 (or 1) disables suppression. */
  minCell: number;
  /** Optional differential privacy on the outcome counts, applied first (./differential-privacy.ts). */
  dp?: DifferentialPrivacyOptions;
}

export { PrivacyGateError } from './consistency.ts';

type SuppressibleField = (typeof SUPPRESSIBLE_FIELDS)[number];

function describe(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  return error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
}

/** Rule 1 on one block's cells: a small or hidden cell hides its whole class pair. */
function applyCellRule(conf: Block['confusion'], k: number): void {
  const small = (c: number | null) => c !== null && c >= 1 && c < k;
  for (const [a, b] of CLASS_PAIRS) {
    if (small(conf[a]) || small(conf[b]) || conf[a] === null || conf[b] === null) {
      conf[a] = null;
      conf[b] = null;
    }
  }
}

/** Rule 2: withholds every metric built on a hidden cell (or withheld before). */
function withholdMetrics(r: Block): void {
  for (const name of Object.keys(METRIC_CELLS) as MetricName[]) {
    const metric = r[name];
    if (metric.reason === 'insufficient-class-size') continue; // rule 0 withheld it already
    const [a, b] = METRIC_CELLS[name];
    const withheld =
      metric.reason === 'suppressed' || metric.numerator === null || metric.denominator === null;
    if (withheld || r.confusion[a] === null || r.confusion[b] === null) {
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
}

function suppressedFields(r: Block): SuppressibleField[] {
  const out: SuppressibleField[] = [];
  for (const field of SUPPRESSIBLE_FIELDS) {
    const isNull = field.startsWith('confusion.')
      ? r.confusion[field.slice('confusion.'.length) as Cell] === null
      : ['suppressed', 'insufficient-class-size'].includes(r[field as MetricName].reason ?? '');
    if (isNull) out.push(field);
  }
  return out;
}

const CLASS_PAIRS = [
  ['tp', 'fn'],
  ['fp', 'tn'],
] as const;

function mergedProportion(
  x: number | null,
  n: number | null,
  emptyReason: NonNullable<Proportion['reason']>,
): Proportion {
  if (x === null || n === null) {
    const none = { estimate: null, ciLow: null, ciHigh: null, numerator: null, denominator: null };
    return { ...none, method: 'wilson', reason: 'suppressed' };
  }
  if (n === 0) {
    const none = { estimate: null, ciLow: null, ciHigh: null, numerator: x, denominator: n };
    return { ...none, method: 'wilson', reason: emptyReason };
  }
  return { ...wilson(x, n), numerator: x, denominator: n, method: 'wilson' } as Proportion;
}

/** Sums groups into the reserved 'other' group (a null cell anywhere makes the summed cell null). */
function mergeGroups(attribute: string, groups: readonly Subgroup[]): Subgroup {
  const add = (f: (g: Subgroup) => number | null) =>
    groups.reduce<number | null>((s, g) => (s === null || f(g) === null ? null : s + (f(g) as number)), 0);
  const cases = add((g) => g.cases) as number;
  const positives = add((g) => g.positives) as number;
  const negatives = add((g) => g.negatives) as number;
  const tp = add((g) => g.confusion.tp);
  const fp = add((g) => g.confusion.fp);
  const tn = add((g) => g.confusion.tn);
  const fn = add((g) => g.confusion.fn);
  const sum = (a: number | null, b: number | null) => (a === null || b === null ? null : a + b);
  const none = cases === 0;
  return {
    attribute,
    value: 'other',
    cases,
    positives,
    negatives,
    confusion: { tp, fp, tn, fn },
    sensitivity: mergedProportion(tp, sum(tp, fn), none ? 'empty' : 'no-positives'),
    specificity: mergedProportion(tn, sum(tn, fp), none ? 'empty' : 'no-negatives'),
    ppv: mergedProportion(tp, sum(tp, fp), 'empty'),
    npv: mergedProportion(tn, sum(tn, fn), 'empty'),
    auc: { estimate: null, se: null, ciLow: null, ciHigh: null, method: 'delong', reason: 'merged' },
    suppressed: [],
  };
}

const byValue = (a: Subgroup, b: Subgroup) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0);

/** Rule 4: merges small subgroups into 'other' and suppresses cells per group and complementarily. */
function gateSubgroups(r: SiteReport, k: number): Subgroup[] {
  const out: Subgroup[] = [];
  const small = (g: Subgroup) => [g.cases, g.positives, g.negatives].some((c) => c >= 1 && c < k);
  for (const [attribute, all] of byAttribute(r.subgroups ?? [])) {
    const groups = all.filter((g) => g.cases > 0);
    const existingOther = groups.filter((g) => g.value === 'other');
    let released = groups
      .filter((g) => g.value !== 'other' && !small(g))
      .sort((a, b) => a.cases - b.cases || byValue(a, b));
    const pool = [...existingOther, ...groups.filter((g) => g.value !== 'other' && small(g))];
    let other: Subgroup | null = null;
    if (pool.length > 0) {
      other =
        pool.length === 1 && pool[0]?.value === 'other'
          ? (pool[0] as Subgroup)
          : mergeGroups(attribute, pool);
      while (small(other) && released.length > 0) {
        pool.push(released.shift() as Subgroup);
        other = mergeGroups(attribute, pool);
      }
    }
    released = released.sort(byValue);
    const list = other ? [...released, other] : released;
    for (const g of list) applyCellRule(g.confusion, k);
    for (const [a, b] of CLASS_PAIRS) {
      if (r.confusion[a] === null || r.confusion[b] === null) continue;
      const hidden = list.filter((g) => g.confusion[a] === null);
      if (hidden.length !== 1) continue;
      const total = (g: Subgroup) => (a === 'tp' ? g.positives : g.negatives);
      const partner = list
        .filter((g) => g.confusion[a] !== null && total(g) > 0)
        .sort((x, y) => total(x) - total(y) || byValue(x, y))[0];
      const target = partner ? partner.confusion : r.confusion;
      target[a] = null;
      target[b] = null;
    }
    for (const g of list) {
      withholdMetrics(g);
      g.suppressed = suppressedFields(g);
    }
    out.push(...list);
  }
  return out;
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

/** Rule 3; a withheld (null) class stays null and does not take part in choosing the edges. */
function mergeHistogram(h: SiteReport['histogram'], k: number): SiteReport['histogram'] {
  const zeros = () => new Array<number>(h.edges.length - 1).fill(0);
  const released = h.positives !== null || h.negatives !== null;
  const plan = released
    ? (mergePlan(h.positives ?? zeros(), h.negatives ?? zeros(), k) ?? [0, h.edges.length - 1])
    : [0, h.edges.length - 1];
  const edges = plan.map((e) => h.edges[e] as number);
  const merge = (counts: number[] | null) => {
    if (counts === null) return null;
    const out: number[] = [];
    for (let g = 0; g + 1 < plan.length; g++)
      out.push(sum(counts.slice(plan[g] as number, plan[g + 1] as number)));
    return out;
  };
  return { edges, positives: merge(h.positives), negatives: merge(h.negatives) };
}

/** Applies the minimum-cell-size rules above to a site report and returns the releasable copy. */
export function privacyGate(report: SiteReport, opts: PrivacyGateOptions): SiteReport {
  const k = opts.minCell;
  if (!Number.isInteger(k) || k < 0) fail(`minCell must be a non-negative integer, got ${k}`);
  const input = SiteReport.safeParse(report);
  if (!input.success)
    fail(`the report does not match the strict cairn.site-report/v1 schema: ${describe(input.error)}`);
  checkConsistency(input.data);
  // Noise first, then the cell rules on the noisy counts (post-processing keeps the DP guarantee).
  let r: SiteReport;
  if (opts.dp) {
    if (!isFullReport(input.data)) fail('differential privacy needs the full report, before any suppression');
    r = applyDifferentialPrivacy(input.data as FullSiteReport, opts.dp);
  } else r = structuredClone(input.data);
  checkConsistency(r);

  withholdSmallClasses(r, k);
  applyCellRule(r.confusion, k);
  // Subgroups before the site's metrics: complementary suppression may hide a site-level class pair.
  if (r.subgroups !== undefined) r.subgroups = gateSubgroups(r, k);
  withholdMetrics(r);
  r.histogram = mergeHistogram(r.histogram, k);
  r.suppressed = suppressedFields(r);
  r.minCell = Math.max(r.minCell, k);

  // Parsed again on the way out: the gate must never emit something the contract does not allow.
  const parsed = SiteReport.safeParse(r);
  if (!parsed.success)
    fail(`the gated report does not match cairn.site-report/v1: ${describe(parsed.error)}`);
  checkConsistency(parsed.data);
  return parsed.data;
}
