import type { Criteria } from '../../schemas/criteria.ts';

export const TEMPLATE_NAMES = ['triage', 'screening', 'minimum-sample'] as const;
export type TemplateName = (typeof TEMPLATE_NAMES)[number];

/**
 * Criteria a coordinator starts from, after the goals people publish:
 * - triage: FDA radiological triage devices' performance goals, sensitivity and specificity ≥ 80 %, here on
 *   the 95 % CI's lower end, in every region and overall;
 * - screening: a new version no worse than the one in use (`versus`), AUC non-inferior by 0.05 on the
 *   within-site-first paired difference, and sensitivity's CI lower end ≥ 0.80 in every region;
 * - minimum-sample: ≥ 400 studies with ≥ 10 % in each class (Moscow CDT), overall and per region.
 */
export function criteriaTemplate(name: TemplateName, versus = 'current@1.0.0'): Criteria {
  const schema = 'cairn.criteria/v1' as const;
  switch (name) {
    case 'triage':
      return {
        schema,
        title: 'Triage: sensitivity and specificity 95% CI lower ends at least 0.80',
        rules: (['region', 'overall'] as const).flatMap((scope) => [
          { metric: 'sensitivity' as const, scope, bound: 'ciLow' as const, atLeast: 0.8 },
          { metric: 'specificity' as const, scope, bound: 'ciLow' as const, atLeast: 0.8 },
        ]),
      };
    case 'screening':
      return {
        schema,
        title: `Screening: non-inferior to ${versus} (AUC margin 0.05), sensitivity CI lower end at least 0.80`,
        rules: [
          { metric: 'auc', versus, margin: 0.05 },
          { metric: 'sensitivity', scope: 'region', bound: 'ciLow', atLeast: 0.8 },
        ],
      };
    case 'minimum-sample':
      return {
        schema,
        title: 'Minimum sample: at least 400 studies, at least 10% in each class',
        rules: [
          { scope: 'overall', minCases: 400, minClassShare: 0.1 },
          { scope: 'region', minCases: 400, minClassShare: 0.1 },
        ],
      };
  }
}
