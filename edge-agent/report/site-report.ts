/**
 * Builds the full site report from per-study outcomes, BEFORE the privacy gate: nothing is suppressed here
 * (minCell 0, suppressed []), so the result must never leave the site without passing
 * ../privacy/gate.ts. Methods: STATISTICS.md ("At one site").
 */
import type { ExclusionCounts } from '../../schemas/exclusion-reasons.ts';
import {
  type Auc,
  type Calibration,
  type Paired,
  type Proportion,
  SiteReport,
  STANDARD_SUBGROUP_ATTRIBUTES,
  type Subgroup,
} from '../../schemas/site-report.ts';
import { wilson } from '../../stats/binomial.ts';
import { calibration } from '../../stats/calibration.ts';
import { confusionAt } from '../../stats/confusion.ts';
import { binCounts } from '../../stats/histogram.ts';
import { delongAuc, pairedDelong } from '../../stats/roc.ts';
import { attributeName, normaliseAttribute } from './attributes.ts';

/**
 * The report before the privacy gate: every count is known (the schema's nulls are the gate's withholding,
 * ../privacy/class-size.ts), so pre-gate code needs no null checks.
 */
export type FullSiteReport = SiteReport & {
  cases: number;
  positives: number;
  negatives: number;
  images: { seen: number; used: number };
  histogram: { edges: number[]; positives: number[]; negatives: number[] };
};

/** Whether nothing in the report has been withheld yet (every count known). */
export function isFullReport(r: SiteReport): r is FullSiteReport {
  return (
    r.cases !== null &&
    r.positives !== null &&
    r.negatives !== null &&
    r.images.seen !== null &&
    r.images.used !== null &&
    r.histogram.positives !== null &&
    r.histogram.negatives !== null
  );
}

export interface Outcome {
  score: number;
  label: 0 | 1;
  attributes?: Record<string, string>;
  scoreB?: number;
}

export interface SiteReportInput {
  reportId: string;
  campaignId: string;
  jobId: string;
  siteId: string;
  model: { vendor: string; name: string; version: string; sha256: string };
  agentVersion: string;
  /** The manifest's locked threshold: positive call when score >= threshold. */
  threshold: number;
  /** The campaign's fixed histogram edges. */
  binEdges: number[];
  /**
   * One entry per evaluated study (labelled, with at least one usable image). `attributes`: raw subgroup
   * attributes of the study (sex, age or ageBand, manufacturer, scannerModel, bodyPart, campaign-named
   * ones), normalised here (./attributes.ts). `scoreB`: a second model's score on the same study, for the
   * paired comparison — given for every outcome or for none.
   */
  outcomes: Outcome[];
  excluded: ExclusionCounts;
  images: { seen: number; used: number };
  /**
   * Subgroup attributes to report, as raw keys ("age" reports as ageBand). Default: every key that appears
   * in any outcome's attributes, standard attributes first. Cases without the attribute count as 'unknown'.
   */
  subgroupAttributes?: string[];
  /** Names model B of the paired comparison when it is a registered model. */
  modelB?: { vendor: string; name: string; version: string; sha256: string };
}

/**
 * A Wilson proportion x/n; with n = 0 the estimate and interval are null and `emptyReason` says why
 * (numerator and denominator stay 0: they are true counts).
 */
export function proportion(x: number, n: number, emptyReason: NonNullable<Proportion['reason']>): Proportion {
  if (n === 0) {
    return {
      estimate: null,
      ciLow: null,
      ciHigh: null,
      numerator: x,
      denominator: n,
      method: 'wilson',
      reason: emptyReason,
    };
  }
  const w = wilson(x, n);
  return {
    estimate: w.estimate,
    ciLow: w.ciLow,
    ciHigh: w.ciHigh,
    numerator: x,
    denominator: n,
    method: 'wilson',
  };
}

/** The metrics every block (the whole site and each subgroup) carries. */
type MetricBlock = Pick<
  Subgroup,
  | 'cases'
  | 'positives'
  | 'negatives'
  | 'confusion'
  | 'sensitivity'
  | 'specificity'
  | 'ppv'
  | 'npv'
  | 'auc'
  | 'calibration'
>;

function metricBlock(scores: number[], labels: (0 | 1)[], threshold: number): Required<MetricBlock> {
  const c = confusionAt(scores, labels, threshold);
  const positives = c.tp + c.fn;
  const negatives = c.fp + c.tn;
  const cases = positives + negatives;
  const none = cases === 0;
  const a = delongAuc(scores, labels);
  const auc: Auc =
    a.estimate === null
      ? { estimate: null, se: null, ciLow: null, ciHigh: null, method: 'delong', reason: a.reason }
      : { estimate: a.estimate, se: a.se, ciLow: a.ciLow, ciHigh: a.ciHigh, method: 'delong' };
  const cal = calibration(scores, labels);
  const cb: Calibration = {
    brier: cal.brier,
    ece: cal.ece,
    intercept: cal.intercept,
    slope: cal.slope,
    ...(cal.reason ? { reason: cal.reason } : {}),
  };
  return {
    cases,
    positives,
    negatives,
    confusion: { tp: c.tp, fp: c.fp, tn: c.tn, fn: c.fn },
    sensitivity: proportion(c.tp, positives, none ? 'empty' : 'no-positives'),
    specificity: proportion(c.tn, negatives, none ? 'empty' : 'no-negatives'),
    ppv: proportion(c.tp, c.tp + c.fp, 'empty'),
    npv: proportion(c.tn, c.tn + c.fn, 'empty'),
    auc,
    calibration: cb,
  };
}

function subgroupAttributes(input: SiteReportInput): { key: string; attribute: string }[] {
  let keys = input.subgroupAttributes;
  if (keys === undefined) {
    const seen = new Set<string>();
    for (const o of input.outcomes) for (const k of Object.keys(o.attributes ?? {})) seen.add(k);
    const order = (k: string) => {
      const name = k === 'age' ? 'ageBand' : k;
      const i = (STANDARD_SUBGROUP_ATTRIBUTES as readonly string[]).indexOf(name);
      return i < 0 ? STANDARD_SUBGROUP_ATTRIBUTES.length : i;
    };
    keys = [...seen].sort((a, b) => order(a) - order(b) || (a < b ? -1 : a > b ? 1 : 0));
  }
  const out: { key: string; attribute: string }[] = [];
  const names = new Set<string>();
  for (const key of keys) {
    const attribute = attributeName(key);
    if (attribute === null) throw new RangeError(`subgroup attribute "${key}" is not a valid attribute name`);
    if (names.has(attribute)) throw new RangeError(`subgroup attribute ${attribute} is named twice`);
    names.add(attribute);
    out.push({ key, attribute });
  }
  return out;
}

function subgroups(input: SiteReportInput, scores: number[], labels: (0 | 1)[]): Subgroup[] {
  const result: Subgroup[] = [];
  for (const { key, attribute } of subgroupAttributes(input)) {
    const groups = new Map<string, number[]>();
    input.outcomes.forEach((o, i) => {
      const value = normaliseAttribute(key, o.attributes?.[key]);
      let g = groups.get(value);
      if (!g) {
        g = [];
        groups.set(value, g);
      }
      g.push(i);
    });
    const values = [...groups.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const value of values) {
      const idx = groups.get(value) as number[];
      const block = metricBlock(
        idx.map((i) => scores[i] as number),
        idx.map((i) => labels[i] as 0 | 1),
        input.threshold,
      );
      result.push({ attribute, value, ...block, suppressed: [] });
    }
  }
  return result;
}

function paired(input: SiteReportInput, scores: number[], labels: (0 | 1)[]): Paired | undefined {
  const withB = input.outcomes.filter((o) => o.scoreB !== undefined).length;
  if (withB === 0) return undefined;
  if (withB !== input.outcomes.length) {
    throw new RangeError(`scoreB is given for ${withB} of ${input.outcomes.length} outcomes: all or none`);
  }
  const scoresB = input.outcomes.map((o, i) => {
    const v = o.scoreB as number;
    if (!Number.isFinite(v)) throw new RangeError(`outcome ${i} has a non-finite scoreB`);
    return v;
  });
  const r = pairedDelong(scores, scoresB, labels);
  return {
    aucA: r.aucA,
    aucB: r.aucB,
    difference: r.difference,
    se: r.se,
    z: r.z,
    p: r.p,
    covariance: r.covariance,
    method: 'delong-paired',
    ...(r.reason ? { reason: r.reason } : {}),
    ...(input.modelB ? { modelB: { ...input.modelB } } : {}),
  };
}

/**
 * Computes the unsuppressed `cairn.site-report/v1`:
 * - cases, positives, negatives from the outcomes;
 * - confusion counts at the threshold; sensitivity = tp/(tp+fn), specificity = tn/(tn+fp),
 *   PPV = tp/(tp+fp), NPV = tn/(tn+fn), each with a Wilson 95 % interval. An empty denominator gives a null
 *   estimate with reason 'empty' when there are no cases at all, else 'no-positives' (sensitivity),
 *   'no-negatives' (specificity) or 'empty' (PPV/NPV: no positive/negative calls);
 * - AUC on the raw study scores with DeLong's SE and 95 % interval; null with a reason without one class;
 *   with a single positive or negative the estimate is given but SE and interval are null (pROC's NA);
 * - calibration of the scores as probabilities (stats/calibration.ts; null with a reason when the scores
 *   are not in [0, 1] or a class is missing);
 * - per-class histograms on the campaign's bin edges;
 * - subgroups: the same metrics (no histogram) for every value of every subgroup attribute, values
 *   normalised (./attributes.ts), missing ones as 'unknown' — all of them, however small: the privacy gate
 *   merges small groups;
 * - paired: the paired DeLong comparison with scoreB, when the outcomes carry one.
 * The result is parsed with the strict SiteReport schema, so an invalid report throws here.
 */
export function buildSiteReport(input: SiteReportInput): FullSiteReport {
  const scores = input.outcomes.map((o) => o.score);
  const labels = input.outcomes.map((o) => o.label);
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) throw new RangeError(`outcome ${i} has a non-finite score`);
  }
  const block = metricBlock(scores, labels, input.threshold);
  const posScores = scores.filter((_, i) => labels[i] === 1);
  const negScores = scores.filter((_, i) => labels[i] === 0);
  const p = paired(input, scores, labels);

  const report: FullSiteReport = {
    schema: 'cairn.site-report/v1',
    reportId: input.reportId,
    campaignId: input.campaignId,
    jobId: input.jobId,
    siteId: input.siteId,
    model: { ...input.model },
    agentVersion: input.agentVersion,
    minCell: 0,
    threshold: input.threshold,
    cases: block.cases,
    positives: block.positives,
    negatives: block.negatives,
    images: { seen: input.images.seen, used: input.images.used },
    excluded: { ...input.excluded },
    confusion: block.confusion,
    sensitivity: block.sensitivity,
    specificity: block.specificity,
    ppv: block.ppv,
    npv: block.npv,
    auc: block.auc,
    histogram: {
      edges: [...input.binEdges],
      positives: binCounts(posScores, input.binEdges),
      negatives: binCounts(negScores, input.binEdges),
    },
    suppressed: [],
    calibration: block.calibration,
    subgroups: subgroups(input, scores, labels),
    ...(p ? { paired: p } : {}),
  };
  const parsed = SiteReport.safeParse(report);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`buildSiteReport: the report does not match cairn.site-report/v1: ${issues}`);
  }
  return parsed.data as FullSiteReport;
}
