/**
 * Builds the full site report from per-study outcomes, BEFORE the privacy gate: nothing is suppressed here
 * (minCell 0, suppressed []), so the result must never leave the site without passing
 * ../privacy/gate.ts. Methods: STATISTICS.md ("At one site").
 */
import type { ExclusionCounts } from '../../schemas/exclusion-reasons.ts';
import { type Auc, type Proportion, SiteReport } from '../../schemas/site-report.ts';
import { wilson } from '../../stats/binomial.ts';
import { confusionAt } from '../../stats/confusion.ts';
import { binCounts } from '../../stats/histogram.ts';
import { delongAuc } from '../../stats/roc.ts';

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
  /** One entry per evaluated study (labelled, with at least one usable image). */
  outcomes: { score: number; label: 0 | 1 }[];
  excluded: ExclusionCounts;
  images: { seen: number; used: number };
}

/**
 * A Wilson proportion x/n; with n = 0 the estimate and interval are null and `emptyReason` says why
 * (numerator and denominator stay 0: they are true counts).
 */
function proportion(x: number, n: number, emptyReason: NonNullable<Proportion['reason']>): Proportion {
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

/**
 * Computes the unsuppressed `cairn.site-report/v1`:
 * - cases, positives, negatives from the outcomes;
 * - confusion counts at the threshold; sensitivity = tp/(tp+fn), specificity = tn/(tn+fp),
 *   PPV = tp/(tp+fp), NPV = tn/(tn+fn), each with a Wilson 95 % interval. An empty denominator gives a null
 *   estimate with reason 'empty' when there are no cases at all, else 'no-positives' (sensitivity),
 *   'no-negatives' (specificity) or 'empty' (PPV/NPV: no positive/negative calls);
 * - AUC on the raw study scores with DeLong's SE and 95 % interval; null with a reason without one class;
 *   with a single positive or negative the estimate is given but SE and interval are null (pROC's NA);
 * - per-class histograms on the campaign's bin edges.
 * The result is parsed with the strict SiteReport schema, so an invalid report throws here.
 */
export function buildSiteReport(input: SiteReportInput): SiteReport {
  const scores = input.outcomes.map((o) => o.score);
  const labels = input.outcomes.map((o) => o.label);
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) throw new RangeError(`outcome ${i} has a non-finite score`);
  }
  const c = confusionAt(scores, labels, input.threshold);
  const positives = c.tp + c.fn;
  const negatives = c.fp + c.tn;
  const cases = positives + negatives;
  const none = cases === 0;

  const a = delongAuc(scores, labels);
  const auc: Auc =
    a.estimate === null
      ? { estimate: null, se: null, ciLow: null, ciHigh: null, method: 'delong', reason: a.reason }
      : { estimate: a.estimate, se: a.se, ciLow: a.ciLow, ciHigh: a.ciHigh, method: 'delong' };

  const posScores = scores.filter((_, i) => labels[i] === 1);
  const negScores = scores.filter((_, i) => labels[i] === 0);

  const report: SiteReport = {
    schema: 'cairn.site-report/v1',
    reportId: input.reportId,
    campaignId: input.campaignId,
    jobId: input.jobId,
    siteId: input.siteId,
    model: { ...input.model },
    agentVersion: input.agentVersion,
    minCell: 0,
    threshold: input.threshold,
    cases,
    positives,
    negatives,
    images: { seen: input.images.seen, used: input.images.used },
    excluded: { ...input.excluded },
    confusion: { tp: c.tp, fp: c.fp, tn: c.tn, fn: c.fn },
    sensitivity: proportion(c.tp, positives, none ? 'empty' : 'no-positives'),
    specificity: proportion(c.tn, negatives, none ? 'empty' : 'no-negatives'),
    ppv: proportion(c.tp, c.tp + c.fp, 'empty'),
    npv: proportion(c.tn, c.tn + c.fn, 'empty'),
    auc,
    histogram: {
      edges: [...input.binEdges],
      positives: binCounts(posScores, input.binEdges),
      negatives: binCounts(negScores, input.binEdges),
    },
    suppressed: [],
  };
  const parsed = SiteReport.safeParse(report);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new Error(`buildSiteReport: the report does not match cairn.site-report/v1: ${issues}`);
  }
  return parsed.data;
}
