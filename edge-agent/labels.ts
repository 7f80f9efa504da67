import { readFileSync } from 'node:fs';
import type { ExclusionCounts } from '../schemas/exclusion-reasons.ts';
import { csvRecords } from './csv.ts';

/**
 * Local ground truth: labels.csv with one row per study. The `StudyInstanceUID` and `label` columns are read
 * (any order, matched case-insensitively), plus the subgroup columns a campaign names; other columns are
 * ignored. RFC 4180 quoting, CRLF and a UTF-8 BOM
 * are accepted.
 *
 * Error messages name columns and line numbers — never a StudyInstanceUID or another cell that could be an
 * identifier; a label cell is quoted only when it is short and plain (`label "yes" is not 0 or 1`).
 * The agent parses the file at enrollment and at every run; `cairn report` reads its CSV with the same
 * record parser (csv.ts) and label rule.
 */

export interface ParsedLabels {
  labels: Map<string, 0 | 1>;
  /** Studies with a row whose label is not exactly 0 or 1 (excluded as 'invalid-label'). */
  invalid: Set<string>;
  /** Studies listed more than once with different labels (excluded as 'conflicting-label'). */
  conflicting: Set<string>;
  /** Values of the requested subgroup columns per study (empty cells left out). */
  attributes: Map<string, Record<string, string>>;
  /** Requested subgroup columns the file does not have: their groups are reported as unknown. */
  missingColumns: string[];
  /** Rows that repeat a study with the same label: the study counts once. */
  repeatedRows: number;
  /** How many rows have a problem, and the first few as one line each (line number and what is wrong). */
  problemRows: number;
  problems: string[];
}

const FILE = 'labels.csv';
const SHOWN_PROBLEMS = 5;

/** A label cell is shown in a message only when it is short and plain (yes, no, 2, 0.5) — never an identifier. */
const quoted = (raw: string) => (/^[A-Za-z0-9.+-]{1,8}$/.test(raw) ? ` "${raw}"` : '');

/** 0 or 1, or what is wrong with the cell (shared with `cairn report`). */
export function readLabel(raw: string): 0 | 1 | string {
  const v = raw.trim();
  if (v === '0') return 0;
  if (v === '1') return 1;
  return v === '' ? 'label is empty' : `label${quoted(v)} is not 0 or 1`;
}

/** A header that is one field holding `column` between semicolons: a `;`-separated export (Excel, some locales). */
export const semicolonSeparated = (header: readonly string[], column: string): boolean =>
  header.length === 1 && header[0]!.split(';').some((n) => n.trim().toLowerCase() === column);

/** Reads and parses the file; any failure is one line starting with `labels.csv` (the path is not in it). */
export function readLabelsFile(path: string, attributeColumns: readonly string[] = []): ParsedLabels {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`${FILE}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'I/O error'})`);
  }
  return parseLabelsCsv(text, attributeColumns);
}

/**
 * Parses labels.csv. Throws one line (`labels.csv line N: …`) when the file as a whole is unusable: no header
 * with the two columns, a `;`-separated file, an unclosed quote, or no row with a usable label. Row-level
 * problems are counted and listed in `problems`; their studies are excluded by reason.
 */
export function parseLabelsCsv(text: string, attributeColumns: readonly string[] = []): ParsedLabels {
  const rows = csvRecords(text, FILE);
  const header = rows.next();
  if (header.done)
    throw new Error(`${FILE}: the file is empty; expected a header with StudyInstanceUID,label`);
  const names = header.value.fields.map((h) => h.trim().toLowerCase());
  const studyCol = names.indexOf('studyinstanceuid');
  const labelCol = names.indexOf('label');
  if (studyCol < 0 || labelCol < 0) {
    throw new Error(
      semicolonSeparated(names, 'label')
        ? `${FILE} line ${header.value.line}: the file is separated by semicolons (;), not commas; save it as comma-separated CSV`
        : `${FILE} line ${header.value.line}: the header must contain the columns StudyInstanceUID and label`,
    );
  }

  const wanted = attributeColumns
    .map((name) => ({ name, col: names.indexOf(name.toLowerCase()) }))
    .filter((w) => w.name.toLowerCase() !== 'studyinstanceuid' && w.name.toLowerCase() !== 'label');
  const parsed: ParsedLabels = {
    labels: new Map(),
    invalid: new Set(),
    conflicting: new Set(),
    attributes: new Map(),
    missingColumns: wanted.filter((w) => w.col < 0).map((w) => w.name),
    repeatedRows: 0,
    problemRows: 0,
    problems: [],
  };
  const problem = (line: number, what: string) => {
    parsed.problemRows++;
    if (parsed.problems.length < SHOWN_PROBLEMS) parsed.problems.push(`${FILE} line ${line}: ${what}`);
  };
  /** The line each study was first labelled on, for the conflict message. */
  const firstLine = new Map<string, number>();
  for (const { fields: row, line } of rows) {
    if (row.length === 1 && row[0]!.trim() === '') continue;
    const study = (row[studyCol] ?? '').trim();
    if (study === '') {
      problem(line, 'StudyInstanceUID is empty');
      continue;
    }
    const values = wanted
      .filter((w) => w.col >= 0 && (row[w.col] ?? '').trim() !== '')
      .map((w) => [w.name, (row[w.col] as string).trim()] as const);
    if (values.length) parsed.attributes.set(study, Object.fromEntries(values));
    const label = readLabel(row[labelCol] ?? '');
    if (typeof label === 'string') {
      problem(line, label);
      parsed.invalid.add(study);
      parsed.labels.delete(study);
      continue;
    }
    if (parsed.invalid.has(study) || parsed.conflicting.has(study)) continue;
    const earlier = parsed.labels.get(study);
    if (earlier === undefined) {
      parsed.labels.set(study, label);
      firstLine.set(study, line);
    } else if (earlier === label) {
      parsed.repeatedRows++;
    } else {
      // Contradicting rows: neither can be trusted.
      problem(line, `the study of line ${firstLine.get(study)} is listed again with a different label`);
      parsed.conflicting.add(study);
      parsed.labels.delete(study);
    }
  }
  if (parsed.labels.size === 0) {
    throw new Error(
      parsed.problems[0] !== undefined
        ? `${parsed.problems[0]} (no row has a usable label; ${parsed.problemRows} rows with problems)`
        : `${FILE}: no row has a StudyInstanceUID and a label of 0 or 1`,
    );
  }
  return parsed;
}

/** One line per thing a site admin should know about a usable labels.csv (problem rows, repeated rows). */
export function labelsWarnings(parsed: ParsedLabels): string[] {
  const out = [...parsed.problems];
  if (parsed.problemRows > parsed.problems.length)
    out.push(`${FILE}: ${parsed.problemRows - parsed.problems.length} more rows with problems`);
  if (parsed.repeatedRows)
    out.push(
      `${FILE}: ${parsed.repeatedRows} rows repeat a study with the same label; each study counts once`,
    );
  return out;
}

export interface LabelledOutcome {
  /** The study's StudyInstanceUID: stays on the site (it pairs two models' scores), never in a report. */
  study: string;
  score: number;
  label: 0 | 1;
  /** The study's subgroup attributes (sex, ageBand, manufacturer, …), when the pipeline found them. */
  attributes?: Record<string, string>;
}

/**
 * Pairs each scored study with its label. Studies with images but no usable label are counted, by reason,
 * at study level; labelled studies without any scored image are simply not part of the evaluation.
 */
export function joinLabels(
  studyScores: ReadonlyMap<string, number>,
  parsed: ParsedLabels,
  studyAttributes?: ReadonlyMap<string, Readonly<Record<string, string>>>,
): { outcomes: LabelledOutcome[]; excluded: ExclusionCounts } {
  const outcomes: LabelledOutcome[] = [];
  const excluded: ExclusionCounts = {};
  for (const [study, score] of studyScores) {
    const label = parsed.labels.get(study);
    if (label !== undefined) {
      const attributes = studyAttributes?.get(study);
      outcomes.push(
        attributes && Object.keys(attributes).length
          ? { study, score, label, attributes: { ...attributes } }
          : { study, score, label },
      );
    } else if (parsed.conflicting.has(study)) {
      excluded['conflicting-label'] = (excluded['conflicting-label'] ?? 0) + 1;
    } else if (parsed.invalid.has(study)) {
      excluded['invalid-label'] = (excluded['invalid-label'] ?? 0) + 1;
    } else {
      excluded['no-label'] = (excluded['no-label'] ?? 0) + 1;
    }
  }
  return { outcomes, excluded };
}
