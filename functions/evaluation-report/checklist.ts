import type { ChecklistItem, EvaluationReport } from '../../schemas/evaluation-report.ts';

type Body = Omit<EvaluationReport, 'checklist'>;
type Entry = [
  ChecklistItem['guideline'],
  string,
  string,
  (r: Body) => Pick<ChecklistItem, 'status' | 'section' | 'note'>,
];

const filled = (section: string) => () => ({ status: 'filled' as const, section });
const when =
  (section: string, has: (r: Body) => boolean, otherwise: string) =>
  (r: Body): Pick<ChecklistItem, 'status' | 'section' | 'note'> =>
    has(r) ? { status: 'filled', section } : { status: 'not-derivable', section: null, note: otherwise };
const notApplicable = (note: string) => () => ({ status: 'not-applicable' as const, section: null, note });
const notDerivable = (note: string) => () => ({ status: 'not-derivable' as const, section: null, note });

/**
 * Where the reporting items of TRIPOD+AI (Collins et al., BMJ 2024; evaluation items) and of STARD-AI (the
 * items of STARD 2015 it extends, by their STARD 2015 numbers) are answered in this report, or why they are
 * not: a federated evaluation of a locked model sees aggregates only, so items about individual participants,
 * model development or study conduct at the sites are "not derivable from aggregates" or "not applicable".
 */
const ENTRIES: Entry[] = [
  ['TRIPOD+AI', '3b', 'Target population and intended use', filled('device')],
  ['TRIPOD+AI', '5a', 'Sources of data', filled('design')],
  [
    'TRIPOD+AI',
    '5b',
    'Dates of the data',
    when('design', (r) => r.design.firstReportAt !== null, 'no report stored yet'),
  ],
  ['TRIPOD+AI', '6a', 'Setting: number and location of centres', filled('sites')],
  ['TRIPOD+AI', '6b', 'Eligibility criteria', filled('device')],
  [
    'TRIPOD+AI',
    '8a',
    'Outcome definition and reference standard',
    notDerivable('the reference standard is each site’s own labels; only its counts leave'),
  ],
  [
    'TRIPOD+AI',
    '10',
    'Sample size',
    when('criteria', (r) => r.criteria !== null, 'the campaign has no pre-registered criteria'),
  ],
  ['TRIPOD+AI', '11', 'Missing data', filled('sites')],
  ['TRIPOD+AI', '12d', 'Heterogeneity across clusters (sites, regions)', filled('results')],
  ['TRIPOD+AI', '12e', 'Performance measures, with intervals', filled('results')],
  [
    'TRIPOD+AI',
    '13',
    'Class imbalance methods',
    notApplicable('an evaluation of a locked model: nothing is trained'),
  ],
  [
    'TRIPOD+AI',
    '14',
    'Fairness across groups',
    when('subgroups', (r) => (r.pooled.overall.subgroups?.length ?? 0) > 0, 'no subgroup was released'),
  ],
  ['TRIPOD+AI', '15', 'Model output and threshold', filled('device')],
  [
    'TRIPOD+AI',
    '18c',
    'Protocol and pre-registration',
    when('criteria', (r) => r.criteria !== null && !r.criteria.postHoc, 'no criteria fixed before the data'),
  ],
  ['TRIPOD+AI', '20a', 'Flow of participants (exclusions)', filled('sites')],
  ['TRIPOD+AI', '20b', 'Characteristics of participants per site', filled('sites')],
  [
    'TRIPOD+AI',
    '21',
    'Model development',
    notApplicable('the vendor’s locked model is evaluated, not developed'),
  ],
  ['TRIPOD+AI', '23a', 'Model performance with confidence intervals', filled('results')],
  ['TRIPOD+AI', '23b', 'Heterogeneity of performance across clusters', filled('results')],
  [
    'TRIPOD+AI',
    '24',
    'Model updating',
    when('comparison', (r) => r.contrasts.length > 0, 'no other version of the model was evaluated'),
  ],
  ['STARD-AI', '8', 'Setting, locations and dates', filled('design')],
  ['STARD-AI', '10a', 'Index test in sufficient detail', filled('device')],
  [
    'STARD-AI',
    '10b',
    'Reference standard in sufficient detail',
    notDerivable('each site’s labels stay at the site'),
  ],
  ['STARD-AI', '12a', 'Positivity cut-off of the index test, pre-specified', filled('device')],
  [
    'STARD-AI',
    '13a',
    'Blinding of the readers of the index test',
    notApplicable('the index test is an algorithm'),
  ],
  ['STARD-AI', '14', 'Methods for estimating diagnostic accuracy', filled('results')],
  ['STARD-AI', '16', 'Missing data of index test and reference standard', filled('sites')],
  [
    'STARD-AI',
    '18',
    'Intended sample size',
    when('criteria', (r) => r.criteria !== null, 'the campaign has no pre-registered criteria'),
  ],
  ['STARD-AI', '19', 'Flow of participants', filled('sites')],
  ['STARD-AI', '20', 'Baseline characteristics', filled('sites')],
  [
    'STARD-AI',
    '21a',
    'Distribution of disease severity',
    notDerivable('severity is not part of a site report'),
  ],
  ['STARD-AI', '23', 'Cross tabulation of index test by reference standard', filled('sites')],
  ['STARD-AI', '24', 'Estimates of diagnostic accuracy and their precision', filled('results')],
  [
    'STARD-AI',
    '25',
    'Adverse events from the index test or reference standard',
    notDerivable('not reported by sites'),
  ],
];

/** The checklist appendix of one report. */
export function checklistOf(report: Body): ChecklistItem[] {
  return ENTRIES.map(([guideline, item, topic, status]) => ({ guideline, item, topic, ...status(report) }));
}
