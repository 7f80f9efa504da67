/** The gated site report from a CSV of stored predictions (`cairn report`), as the agent builds and gates one. */
import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { csvRecords } from '../../edge-agent/csv.ts';
import { readLabel, semicolonSeparated } from '../../edge-agent/labels.ts';
import { privacyGate } from '../../edge-agent/privacy/gate.ts';
import { buildSiteReport, type Outcome } from '../../edge-agent/report/site-report.ts';
import type { SiteReport } from '../../schemas/site-report.ts';
import { equalWidthEdges } from '../../stats/histogram.ts';
import { CliError } from '../errors.ts';

export interface ReportFlags {
  scores: string;
  threshold?: string;
  bins?: string;
  minCell?: string;
  subgroups?: string;
  paired?: string;
  json?: boolean;
  output: string;
}

/** The flags checked against the CSV's header: where each column is, and the numbers the report uses. */
interface ReportPlan {
  col: (name: string) => number;
  width: number;
  threshold: number;
  bins: number;
  minCell: number;
  subgroups: string[];
  paired?: string;
}

type Row = { fields: string[]; line: number };

/** Builds the gated report from the CSV and the flags; every user error is a CliError with one line. */
export function reportFromCsv(flags: ReportFlags): SiteReport {
  let bytes: Buffer;
  try {
    bytes = readFileSync(flags.scores);
  } catch {
    throw new CliError(`--scores: cannot read ${flags.scores}`);
  }
  const [header, ...rows] = csvRows(bytes.toString('utf8'));
  const plan = planReport(
    flags,
    (header?.fields ?? []).map((h) => h.trim()),
  );
  const outcomes = rows.map((row) => rowOutcome(row, plan));
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
      threshold: plan.threshold,
      binEdges: equalWidthEdges(plan.bins),
      outcomes,
      excluded: {},
      images: { seen: 0, used: 0 },
      subgroupAttributes: plan.subgroups,
    });
  } catch (err) {
    throw new CliError((err as Error).message.replace(/^buildSiteReport: /, ''));
  }
  return privacyGate(full, { minCell: plan.minCell });
}

/** The CSV's records with their line numbers, blank lines dropped; a malformed file is one CliError line. */
function csvRows(text: string): Row[] {
  try {
    return [...csvRecords(text, 'the CSV')].filter(
      (r) => !(r.fields.length === 1 && r.fields[0]?.trim() === ''),
    );
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

function planReport(flags: ReportFlags, header: string[]): ReportPlan {
  const col = (name: string) => header.indexOf(name);
  if (col('score') < 0 || col('label') < 0)
    throw new CliError(
      semicolonSeparated(header, 'label')
        ? 'the CSV is separated by semicolons (;), not commas; save it as comma-separated CSV'
        : 'the CSV needs a header with columns score,label',
    );
  const threshold = flags.threshold === undefined ? 0.5 : Number(flags.threshold);
  if (flags.threshold !== undefined && (flags.threshold.trim() === '' || !Number.isFinite(threshold)))
    throw new CliError(`--threshold must be a number, got ${flags.threshold}`);
  const subgroups = (flags.subgroups ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  for (const s of subgroups) if (col(s) < 0) throw new CliError(`--subgroups: the CSV has no column ${s}`);
  if (flags.paired !== undefined && col(flags.paired) < 0)
    throw new CliError(`--paired: the CSV has no column ${flags.paired}`);
  return {
    col,
    width: header.length,
    threshold,
    bins: intOption(flags.bins, 'bins', 1, 20),
    minCell: intOption(flags.minCell, 'min-cell', 0, 5),
    subgroups,
    ...(flags.paired !== undefined ? { paired: flags.paired } : {}),
  };
}

function intOption(value: string | undefined, name: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new CliError(`--${name} must be an integer >= ${min}, got ${value}`);
  return n;
}

/** One prediction row as an outcome; a bad cell is refused with the row's line number. */
function rowOutcome({ fields: row, line }: Row, plan: ReportPlan): Outcome {
  const cell = (name: string) => (row[plan.col(name)] as string).trim();
  if (row.length !== plan.width)
    throw new CliError(`line ${line}: ${row.length} fields, the header has ${plan.width}`);
  const rawScore = cell('score');
  const score = Number(rawScore);
  if (rawScore === '' || !Number.isFinite(score)) throw new CliError(`line ${line}: score is not a number`);
  const label = readLabel(row[plan.col('label')] as string);
  if (typeof label === 'string') throw new CliError(`line ${line}: ${label}`);
  const o: Outcome = { score, label };
  if (plan.subgroups.length > 0)
    o.attributes = Object.fromEntries(plan.subgroups.map((s) => [s, cell(s)]).filter(([, v]) => v !== ''));
  if (plan.paired !== undefined) {
    const raw = cell(plan.paired);
    const b = Number(raw);
    if (raw === '' || !Number.isFinite(b)) throw new CliError(`line ${line}: ${plan.paired} is not a number`);
    o.scoreB = b;
  }
  return o;
}
