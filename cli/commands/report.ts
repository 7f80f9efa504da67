/**
 * `cairn report`: the site report from stored predictions (a CSV of score,label), without running a model —
 * the same buildSiteReport + privacyGate path the agent uses. Prints the report itself: its metrics are at
 * the top level (auc, sensitivity, …, calibration, histogram, subgroups, paired).
 */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { csvRecords, readLabel, semicolonSeparated } from '../../edge-agent/labels.ts';
import { privacyGate } from '../../edge-agent/privacy/gate.ts';
import { buildSiteReport, type Outcome } from '../../edge-agent/report/site-report.ts';
import type { SiteReport } from '../../schemas/site-report.ts';
import { equalWidthEdges } from '../../stats/histogram.ts';
import { CliError } from '../errors.ts';
import { print } from '../output.ts';

/** Parses CSV text (RFC 4180 quoting) into rows of fields, with labels.csv's parser; blank lines are dropped. */
export function parseCsv(text: string): string[][] {
  try {
    return [...csvRecords(text, 'the CSV')]
      .map((r) => r.fields)
      .filter((r) => !(r.length === 1 && r[0]?.trim() === ''));
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

function intOption(value: string | undefined, name: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new CliError(`--${name} must be an integer >= ${min}, got ${value}`);
  return n;
}

interface ReportFlags {
  scores: string;
  threshold?: string;
  bins?: string;
  minCell?: string;
  subgroups?: string;
  paired?: string;
  json?: boolean;
  output: string;
}

/** Builds the gated report from the CSV and the flags; every user error is a CliError with one line. */
export function reportFromCsv(flags: ReportFlags): SiteReport {
  let bytes: Buffer;
  try {
    bytes = readFileSync(flags.scores);
  } catch {
    throw new CliError(`--scores: cannot read ${flags.scores}`);
  }
  const rows = parseCsv(bytes.toString('utf8'));
  const header = (rows[0] ?? []).map((h) => h.trim());
  const col = (name: string) => header.indexOf(name);
  if (col('score') < 0 || col('label') < 0)
    throw new CliError(
      semicolonSeparated(header, 'label')
        ? 'the CSV is separated by semicolons (;), not commas; save it as comma-separated CSV'
        : 'the CSV needs a header with columns score,label',
    );
  const threshold = flags.threshold === undefined ? 0.5 : Number(flags.threshold);
  if (flags.threshold !== undefined && (flags.threshold.trim() === '' || !Number.isFinite(threshold))) {
    throw new CliError(`--threshold must be a number, got ${flags.threshold}`);
  }
  const bins = intOption(flags.bins, 'bins', 1, 20);
  const minCell = intOption(flags.minCell, 'min-cell', 0, 5);
  const subgroups = flags.subgroups
    ? flags.subgroups
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0)
    : [];
  for (const s of subgroups) if (col(s) < 0) throw new CliError(`--subgroups: the CSV has no column ${s}`);
  if (flags.paired !== undefined && col(flags.paired) < 0)
    throw new CliError(`--paired: the CSV has no column ${flags.paired}`);
  const outcomes: Outcome[] = [];
  for (let r = 1; r < rows.length; r++) {
    const row = rows[r] as string[];
    const line = r + 1;
    if (row.length !== header.length)
      throw new CliError(`line ${line}: ${row.length} fields, the header has ${header.length}`);
    const rawScore = (row[col('score')] as string).trim();
    const score = Number(rawScore);
    if (rawScore === '' || !Number.isFinite(score)) throw new CliError(`line ${line}: score is not a number`);
    const label = readLabel(row[col('label')] as string);
    if (typeof label === 'string') throw new CliError(`line ${line}: ${label}`);
    const o: Outcome = { score, label };
    if (subgroups.length > 0) {
      const attributes: Record<string, string> = {};
      for (const s of subgroups) {
        const v = (row[col(s)] as string).trim();
        if (v !== '') attributes[s] = v;
      }
      o.attributes = attributes;
    }
    if (flags.paired !== undefined) {
      const raw = (row[col(flags.paired)] as string).trim();
      const b = Number(raw);
      if (raw === '' || !Number.isFinite(b))
        throw new CliError(`line ${line}: ${flags.paired} is not a number`);
      o.scoreB = b;
    }
    outcomes.push(o);
  }
  let full: SiteReport;
  try {
    full = buildSiteReport({
      reportId: randomUUID(),
      campaignId: 'local',
      jobId: 'local',
      siteId: 'local',
      // Stored predictions have no registered model: the sha256 names the CSV that was evaluated.
      model: {
        vendor: 'local',
        name: 'stored-predictions',
        version: '0.0.0',
        sha256: createHash('sha256').update(bytes).digest('hex'),
      },
      agentVersion: '0.1.0',
      threshold,
      binEdges: equalWidthEdges(bins),
      outcomes,
      excluded: {},
      images: { seen: 0, used: 0 },
      subgroupAttributes: subgroups,
    });
  } catch (err) {
    throw new CliError((err as Error).message.replace(/^buildSiteReport: /, ''));
  }
  return privacyGate(full, { minCell });
}

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
  program
    .command('report')
    .description('the site report from stored predictions: a CSV with score,label (no model is run)')
    .requiredOption('--scores <file>', 'CSV with a header: score,label plus optional subgroup/score columns')
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
    .action((o: ReportFlags) => {
      const r = reportFromCsv(o);
      print(o.json ? 'json' : o.output, r, () => renderText(r));
    });
}
