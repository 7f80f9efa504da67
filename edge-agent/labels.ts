import type { ExclusionCounts } from '../schemas/exclusion-reasons.ts';

/**
 * Local ground truth: labels.csv with one row per study. The `StudyInstanceUID` and `label` columns are read
 * (any order, matched case-insensitively), plus the subgroup columns a campaign names; other columns are
 * ignored. RFC 4180 quoting, CRLF and a UTF-8 BOM
 * are accepted.
 *
 * Error messages name columns and line numbers only — never a cell value, which could be an identifier.
 */

export interface ParsedLabels {
  labels: Map<string, 0 | 1>;
  /** Studies whose label is not exactly 0 or 1, or that are listed twice with different labels. */
  invalid: Set<string>;
  /** Values of the requested subgroup columns per study (empty cells left out). */
  attributes: Map<string, Record<string, string>>;
  /** Requested subgroup columns the file does not have: their groups are reported as unknown. */
  missingColumns: string[];
}

export function parseLabelsCsv(text: string, attributeColumns: readonly string[] = []): ParsedLabels {
  const rows = parseCsv(text.startsWith('\uFEFF') ? text.slice(1) : text);
  const header = rows.next();
  if (header.done)
    throw new Error('labels.csv: the file is empty; expected a header with StudyInstanceUID,label');
  const names = header.value.map((h) => h.trim().toLowerCase());
  const studyCol = names.indexOf('studyinstanceuid');
  const labelCol = names.indexOf('label');
  if (studyCol < 0 || labelCol < 0) {
    throw new Error('labels.csv: the header must contain the columns StudyInstanceUID and label');
  }

  const wanted = attributeColumns
    .map((name) => ({ name, col: names.indexOf(name.toLowerCase()) }))
    .filter((w) => w.name.toLowerCase() !== 'studyinstanceuid' && w.name.toLowerCase() !== 'label');
  const attributes = new Map<string, Record<string, string>>();
  const labels = new Map<string, 0 | 1>();
  const invalid = new Set<string>();
  for (const row of rows) {
    if (row.length === 1 && row[0]!.trim() === '') continue;
    const study = (row[studyCol] ?? '').trim();
    if (study === '') continue;
    const values = wanted
      .filter((w) => w.col >= 0 && (row[w.col] ?? '').trim() !== '')
      .map((w) => [w.name, (row[w.col] as string).trim()] as const);
    if (values.length) attributes.set(study, Object.fromEntries(values));
    const raw = (row[labelCol] ?? '').trim();
    const label = raw === '0' ? 0 : raw === '1' ? 1 : undefined;
    if (label === undefined || invalid.has(study)) {
      invalid.add(study);
      labels.delete(study);
      continue;
    }
    const earlier = labels.get(study);
    if (earlier !== undefined && earlier !== label) {
      // Contradicting rows: neither can be trusted.
      invalid.add(study);
      labels.delete(study);
      continue;
    }
    labels.set(study, label);
  }
  return { labels, invalid, attributes, missingColumns: wanted.filter((w) => w.col < 0).map((w) => w.name) };
}

/** RFC 4180 records; a quoted field may contain commas, doubled quotes and line breaks. */
function* parseCsv(text: string): Generator<string[]> {
  let field = '';
  let row: string[] = [];
  let quoted = false;
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      i++;
      continue;
    }
    if (ch === '"' && field.trim() === '') {
      quoted = true;
      field = '';
    } else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      row.push(field);
      yield row;
      row = [];
      field = '';
      line++;
      if (ch === '\r' && text[i + 1] === '\n') i++;
    } else {
      field += ch;
    }
    i++;
  }
  if (quoted) throw new Error(`labels.csv: a quoted field opened before line ${line} is never closed`);
  if (field !== '' || row.length > 0) {
    row.push(field);
    yield row;
  }
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
    } else if (parsed.invalid.has(study)) {
      excluded['invalid-label'] = (excluded['invalid-label'] ?? 0) + 1;
    } else {
      excluded['no-label'] = (excluded['no-label'] ?? 0) + 1;
    }
  }
  return { outcomes, excluded };
}
