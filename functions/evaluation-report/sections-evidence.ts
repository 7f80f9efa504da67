import type { Verdict } from '../../schemas/comparison.ts';
import type { CriteriaRule } from '../../schemas/criteria.ts';
import type { EvaluationReport } from '../../schemas/evaluation-report.ts';
import { esc, fmt, table, withCi } from './html.ts';

type R = EvaluationReport;

/** A criteria rule as a sentence a reader checks against the pre-registration. */
export function describeRule(rule: CriteriaRule): string {
  if ('versus' in rule)
    return `AUC non-inferior to ${rule.versus}: paired difference CI lower bound ≥ −${rule.margin}`;
  if ('subgroup' in rule)
    return `no ${rule.subgroup} subgroup's ${rule.metric} more than ${rule.maxBelowOverall} below the ${rule.scope} estimate`;
  if ('bound' in rule) return `${rule.metric} ${rule.bound} ≥ ${rule.atLeast} (${rule.scope})`;
  const parts = [
    rule.minSites !== undefined ? `≥ ${rule.minSites} sites` : '',
    rule.minCases !== undefined ? `≥ ${rule.minCases} studies` : '',
    rule.minPositives !== undefined ? `≥ ${rule.minPositives} positives` : '',
    rule.minNegatives !== undefined ? `≥ ${rule.minNegatives} negatives` : '',
    rule.minClassShare !== undefined ? `≥ ${rule.minClassShare * 100} % per class` : '',
  ].filter(Boolean);
  return `minimum evidence (${rule.scope}): ${parts.join(', ')}`;
}

const badge = (v: Verdict['verdict'] | null) =>
  v === null ? '<span class="verdict none">no criteria</span>' : `<span class="verdict ${v}">${v}</span>`;

function verdictRows(r: R, scope: string, v: Verdict | null): string[][] {
  if (!v) return [[esc(scope), badge(null), '', '', '']];
  return v.rules.map((rule, i) => {
    const text = r.criteria?.criteria.rules[rule.rule];
    return [
      i === 0 ? `${esc(scope)} ${badge(v.verdict)}` : '',
      String(rule.rule + 1),
      esc(text ? describeRule(text) : `rule ${rule.rule + 1}`),
      `${badge(rule.verdict)} ${fmt(rule.value)}`,
      esc(rule.reason),
    ];
  });
}

export function verdictSection(r: R): string {
  const rows = [
    ...verdictRows(r, r.region ? `region ${r.region}` : 'overall', r.verdicts.overall),
    ...(r.region ? [] : r.verdicts.regions.flatMap((g) => verdictRows(r, `region ${g.region}`, g.verdict))),
  ];
  const postHoc = r.criteria?.postHoc
    ? '<p class="warning">These criteria were attached after the campaign started (post hoc).</p>'
    : '';
  return `<section id="verdict"><h2>1. Verdict per criterion</h2>${postHoc}${table(
    'Verdicts of the acceptance criteria on the pooled results',
    ['Scope', 'Rule', 'Criterion', 'Verdict and value', 'Why'],
    rows,
  )}</section>`;
}

export function criteriaSection(r: R): string {
  if (!r.criteria)
    return '<section id="criteria"><h2>5. Pre-registered criteria</h2><p>The campaign has no acceptance criteria.</p></section>';
  const c = r.criteria;
  const rules = c.criteria.rules
    .map((rule, i) => `<li value="${i + 1}">${esc(describeRule(rule))}</li>`)
    .join('');
  return `<section id="criteria"><h2>5. Pre-registered criteria</h2>
<p>${c.criteria.title ? `${esc(c.criteria.title)}. ` : ''}Attached ${esc(c.attachedAt)}${c.postHoc ? ' <strong>post hoc</strong>' : ', when the campaign was created (before any report)'}; sha256 <code>${c.sha256}</code>.</p>
<ol>${rules}</ol></section>`;
}

export function deviceSection(r: R): string {
  const d = r.device;
  const rows = [
    ['Vendor', esc(d.vendor)],
    ['Model and version', `${esc(d.name)} ${esc(d.version)}`],
    ['Model id', `<code>${esc(d.modelId)}</code>`],
    ['sha256 of the ONNX file', `<code>${d.sha256}</code>`],
    ['Task', esc(d.task)],
    ['Operating threshold', `positive when score ≥ ${d.threshold}`],
    ['Intended use: modality', esc(d.modality.join(', '))],
    ['Intended use: body part', esc(d.bodyPart.join(', ') || 'not restricted')],
    ['Intended use: view position', esc(d.viewPosition.join(', ') || 'not restricted')],
    ['Description', esc(d.description ?? '–')],
  ];
  return `<section id="device"><h2>2. Device identity</h2>${table('The evaluated model version', ['Field', 'Value'], rows)}</section>`;
}

export function designSection(r: R): string {
  const d = r.design;
  const rows = [
    ['Campaign', `${esc(d.campaignName)} (<code>${esc(d.campaignId)}</code>)`],
    ['Created', esc(d.createdAt)],
    ['Reports received', `${esc(d.firstReportAt ?? '–')} to ${esc(d.lastReportAt ?? '–')}`],
    ['Sites', String(d.sites)],
    ['Regions', esc(d.regions.join(', '))],
    ['Score histogram bins', String(d.bins)],
    ['Subgroup attributes', esc(d.subgroupAttributes.join(', ') || 'standard only')],
    ['Other versions compared', esc(d.otherVersions.map((v) => v.version).join(', ') || 'none')],
    [
      'Design',
      'retrospective federated evaluation: each site ran the locked model on its own studies against its own labels; only privacy-checked aggregates left the sites',
    ],
  ];
  return `<section id="design"><h2>3. Design</h2>${table('Campaign and data', ['Field', 'Value'], rows)}</section>`;
}

export function sitesSection(r: R): string {
  const rows = r.sites.map((s) => [
    esc(s.site),
    esc(s.region),
    `${esc(s.status)}${s.reason ? ` (${esc(s.reason)})` : ''}`,
    s.cases === null ? '<span class="suppressed">withheld</span>' : String(s.cases),
    s.positives === null ? '<span class="suppressed">withheld</span>' : String(s.positives),
    s.negatives === null ? '<span class="suppressed">withheld</span>' : String(s.negatives),
    s.images ? `${s.images.seen ?? '–'} / ${s.images.used ?? '–'}` : '–',
    esc(
      Object.entries(s.excluded)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none',
    ),
    s.suppressed.length
      ? `<span class="suppressed">suppressed: ${esc(s.suppressed.join(', '))}</span>`
      : 'none',
  ]);
  const scanners = r.sites.flatMap((s) =>
    s.scanners.map((g) => [esc(s.site), esc(g.attribute), esc(g.value), String(g.cases)]),
  );
  return `<section id="sites"><h2>4. Sites: population, scanners and exclusions</h2>${table(
    'Per-site population (cells below the minimum cell size are suppressed at the site)',
    [
      'Site',
      'Region',
      'Status',
      'Studies',
      'Positives',
      'Negatives',
      'Images seen / used',
      'Exclusions',
      'Suppressed cells',
    ],
    rows,
  )}${table('Scanners per site (studies)', ['Site', 'Attribute', 'Value', 'Studies'], scanners)}</section>`;
}

export const proportion = (
  p: { estimate: number | null; ciLow: number | null; ciHigh: number | null } | null,
) => (p ? withCi(p.estimate, p.ciLow, p.ciHigh) : '–');
