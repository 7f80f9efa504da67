import type { EvaluationReport } from '../../schemas/evaluation-report.ts';
import { esc, table } from './html.ts';

type R = EvaluationReport;

export function governanceSection(r: R): string {
  const rows = r.governance.flatMap((g) =>
    g.events.length === 0
      ? [[esc(g.region), '', esc(g.state), '', '', 'no decision yet', '']]
      : g.events.map((e) => [
          esc(g.region),
          esc(e.at),
          `${esc(e.from)} → ${esc(e.to)}`,
          esc(e.action),
          esc(e.personId ?? e.actor),
          `${esc(e.reason)}${e.concession ? ` <strong>concession: ${esc(e.concession)}</strong>` : ''}`,
          e.evidenceSha256 ? `<code>${e.evidenceSha256.slice(0, 16)}…</code>` : '–',
        ]),
  );
  return `<section id="governance"><h2>10. Governance trail</h2>${table(
    'Every rollout decision on this version (append-only, in the audit chain)',
    ['Region', 'When', 'Transition', 'Action', 'By', 'Reason', 'Evidence'],
    rows,
  )}</section>`;
}

export function privacySection(r: R): string {
  const p = r.privacy;
  const rows = [
    ['Minimum cell size k', String(p.minCell)],
    ['Suppressed cells', String(p.suppressedCells)],
    ['Sites that withheld a class', String(p.withheldSites)],
    ['Differential privacy ε', p.epsilon.length ? esc(p.epsilon.join(', ')) : 'not used'],
  ];
  return `<section id="privacy"><h2>11. Privacy parameters</h2>${table('What the sites’ privacy gate applied', ['Parameter', 'Value'], rows)}</section>`;
}

export function inputsSection(r: R): string {
  const rows = [
    ['model', `<code>${r.inputs.modelSha256}</code>`],
    ['criteria', r.inputs.criteriaSha256 ? `<code>${r.inputs.criteriaSha256}</code>` : '–'],
    ...r.inputs.reports.map((x) => [`site report <code>${x.reportId}</code>`, `<code>${x.sha256}</code>`]),
  ];
  return `<section id="inputs"><h2>12. Inputs (sha256)</h2>${table('What this report was built from', ['Input', 'sha256'], rows)}</section>`;
}

export function checklistSection(r: R): string {
  const rows = r.checklist.map((c) => [
    esc(c.guideline),
    esc(c.item),
    esc(c.topic),
    `<span class="status ${c.status}">${c.status}</span>`,
    c.section ? `<a href="#${c.section}">${esc(c.section)}</a>` : esc(c.note ?? ''),
  ]);
  return `<section id="checklist"><h2>Appendix: reporting checklist</h2>${table(
    'TRIPOD+AI and STARD-AI items: filled here, not applicable, or not derivable from aggregates',
    ['Guideline', 'Item', 'Topic', 'Status', 'Where / why'],
    rows,
  )}</section>`;
}
