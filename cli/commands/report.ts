/**
 * `cairn report`: the site report from stored predictions (a CSV of score,label), without running a model —
 * the same buildSiteReport + privacyGate path the agent uses. Prints the report itself: its metrics are at
 * the top level (auc, sensitivity, …, calibration, histogram, subgroups, paired).
 */
import type { Command } from 'commander';
import type { SiteReport } from '../../schemas/site-report.ts';
import { CliError } from '../errors.ts';
import { print } from '../output.ts';
import { registerReportExport } from './report-export.ts';
import type { ReportFlags } from './report-from-csv.ts';

const fmt = (v: number | null | undefined, d = 3) => (v === null || v === undefined ? '—' : v.toFixed(d));

function renderText(r: SiteReport): string {
  const p = (name: string, m: SiteReport['sensitivity']) =>
    `${name.padEnd(12)} ${fmt(m.estimate)} [${fmt(m.ciLow)}, ${fmt(m.ciHigh)}]  ${m.numerator ?? '—'}/${m.denominator ?? '—'}${m.reason ? ` (${m.reason})` : ''}`;
  const total = (x: number | null) => (x === null ? 'withheld' : String(x));
  const lines = [
    `cases ${total(r.cases)} (positives ${total(r.positives)}, negatives ${total(r.negatives)}); threshold ${r.threshold}; min cell ${r.minCell}`,
    ...(r.withheld
      ? [
          `withheld     ${r.withheld.classes.join(' and ')}: fewer than ${r.minCell} cases (${r.withheld.reason}); nothing computed on them is shown`,
        ]
      : []),
    `AUC          ${fmt(r.auc.estimate)} [${fmt(r.auc.ciLow)}, ${fmt(r.auc.ciHigh)}] DeLong${r.auc.reason ? ` (${r.auc.reason})` : ''}`,
    p('sensitivity', r.sensitivity),
    p('specificity', r.specificity),
    p('PPV', r.ppv),
    p('NPV', r.npv),
  ];
  const c = r.calibration;
  if (c)
    lines.push(
      `calibration  Brier ${fmt(c.brier)}  ECE ${fmt(c.ece)}  intercept ${fmt(c.intercept)}  slope ${fmt(c.slope)}${c.reason ? ` (${c.reason})` : ''}`,
    );
  if (r.paired)
    lines.push(
      `paired       AUC A − B ${fmt(r.paired.difference)} (SE ${fmt(r.paired.se)}, z ${fmt(r.paired.z, 2)}, p ${fmt(r.paired.p, 4)})${r.paired.reason ? ` (${r.paired.reason})` : ''}`,
    );
  for (const g of r.subgroups ?? []) {
    lines.push(
      `  ${`${g.attribute}=${g.value}`.padEnd(30)} n ${String(g.cases).padStart(6)}  AUC ${fmt(g.auc.estimate)}  sens ${fmt(g.sensitivity.estimate)}  spec ${fmt(g.specificity.estimate)}`,
    );
  }
  return lines.join('\n');
}

export function registerReportCommand(program: Command): void {
  const report = program
    .command('report')
    .description('the site report from stored predictions: a CSV with score,label (no model is run)')
    // Not a required option: commander would then demand it of `report export` too.
    .option('--scores <file>', 'CSV with a header: score,label plus optional subgroup/score columns')
    .option('--threshold <t>', 'decision threshold: positive when score >= t', '0.5')
    .option('--bins <n>', 'histogram bins on [0,1]', '20')
    .option('--min-cell <k>', 'minimum released cell size (0 turns suppression off)', '5')
    .option(
      '--subgroups <columns>',
      'comma-separated subgroup columns (sex, age or ageBand, manufacturer, …)',
    )
    .option('--paired <column>', 'a second score column: paired DeLong comparison against score')
    .option('--json', 'print JSON (same as --output json)')
    .option('--output <format>', 'text or json', 'text')
    .action(async (o: ReportFlags) => {
      if (!o.scores) throw new CliError("required option '--scores <file>' not specified");
      const { reportFromCsv } = await import('./report-from-csv.ts');
      const r = reportFromCsv(o);
      print(o.json ? 'json' : o.output, r, () => renderText(r));
    });
  registerReportExport(report);
}
