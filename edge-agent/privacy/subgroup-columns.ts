import { normaliseAttribute } from '../report/attributes.ts';

/**
 * Which subgroup attributes a site releases. A campaign only *requests* labels.csv columns; the site decides:
 *
 * 1. `not-allow-listed`: a labels.csv column is released only if the site's own agent.json names it in
 *    `releaseColumns` (default none). Its values are then not even read.
 * 2. `identifier-shape`: refused when any value looks like a DICOM identifier or a person: a UID
 *    (1.2.840.…), a date or date-time, a run of 6 or more digits, an MRN-like id (a few letters, then 4 or
 *    more digits), or a person name with '^' (DICOM PN).
 * 3. `too-many-levels`: more than 40 distinct values (DataSHIELD nfilter.levels.max).
 * 4. `level-density`: more distinct values than a third of the cases (DataSHIELD nfilter.levels.density
 *    0.33): a column with nearly one value per patient is an identifier whatever it is called.
 *
 * Rules 2–4 also apply to the DICOM-derived free-text attributes (manufacturer, scannerModel, bodyPart: a
 * technician can type anything there). sex and ageBand are normalised to closed sets (M/F/O, five bands)
 * before they reach the report and carry no free text, so they are released as they are.
 *
 * A refusal names the column and the rule, never a value: it is shown in `cairn agent review` and
 * `cairn agent status`, and the report simply has no subgroups for it.
 */
export const COLUMN_REFUSAL_REASONS = [
  'not-allow-listed',
  'identifier-shape',
  'too-many-levels',
  'level-density',
] as const;
export type ColumnRefusalReason = (typeof COLUMN_REFUSAL_REASONS)[number];

export interface ColumnRefusal {
  /** The attribute (column) name as the campaign requested it. */
  column: string;
  reason: ColumnRefusalReason;
  /** Where its values come from. */
  source: 'labels' | 'dicom';
}

export const MAX_LEVELS = 40;
export const MAX_LEVEL_DENSITY = 0.33;

/** Attributes whose values the site normalises to a closed set: no free text, no level checks needed. */
const CLOSED_ATTRIBUTES = new Set(['sex', 'age', 'ageBand']);

const IDENTIFIER_SHAPES: readonly RegExp[] = [
  /^[0-2](\.\d+){2,}$/, // a DICOM UID: 1.2.840.…, 2.25.…
  /\d{6,}/, // MRNs, accession numbers, DA/DT/TM values (YYYYMMDD, HHMMSS), phone numbers
  /(?<!\d)\d{4}-\d{2}-\d{2}/, // ISO dates and date-times
  /\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b/, // 31.12.1970, 12/31/70
  /^[A-Za-z]{1,4}[-_ #]?\d{4,}$/, // MRN-like: letters, then digits (MRN00424242, PT-1234)
  /\^/, // a DICOM person name: Family^Given
];

/** Whether one raw value looks like an identifier (rule 2). */
export function looksIdentifying(value: string): boolean {
  const v = value.trim();
  return IDENTIFIER_SHAPES.some((re) => re.test(v));
}

/** Rules 2–4 on one attribute's values over the evaluated cases; undefined when it may be released. */
export function checkLevels(
  key: string,
  values: readonly (string | undefined)[],
): Exclude<ColumnRefusalReason, 'not-allow-listed'> | undefined {
  if (CLOSED_ATTRIBUTES.has(key)) return undefined;
  const present = values.filter((v): v is string => v !== undefined && v.trim() !== '');
  if (present.some(looksIdentifying)) return 'identifier-shape';
  const levels = new Set(present.map((v) => normaliseAttribute(key, v)));
  levels.delete('unknown');
  if (levels.size > MAX_LEVELS) return 'too-many-levels';
  if (levels.size > MAX_LEVEL_DENSITY * values.length) return 'level-density';
  return undefined;
}

/** The requested labels.csv columns this site's allow-list lets the agent read (case-insensitive names). */
export function allowListedColumns(requested: readonly string[], allowList: readonly string[]): string[] {
  const allowed = new Set(allowList.map((c) => c.toLowerCase()));
  return requested.filter((c) => allowed.has(c.toLowerCase()));
}

export interface SubgroupDecision {
  /** Attributes to report, in order: the DICOM-derived ones, then the released labels columns. */
  released: string[];
  refused: ColumnRefusal[];
}

/**
 * Decides every subgroup attribute of one report. `dicom`: the standard attributes read from the images;
 * `requested`: the campaign's labels.csv columns; `cases`: the attributes of every evaluated case.
 */
export function decideSubgroupColumns(opts: {
  dicom: readonly string[];
  requested: readonly string[];
  allowList: readonly string[];
  cases: readonly (Record<string, string> | undefined)[];
}): SubgroupDecision {
  const released: string[] = [];
  const refused: ColumnRefusal[] = [];
  const readable = new Set(allowListedColumns(opts.requested, opts.allowList));
  const candidates = [
    ...opts.dicom.map((column) => ({ column, source: 'dicom' as const })),
    ...opts.requested
      .filter((c) => !opts.dicom.includes(c))
      .map((column) => ({ column, source: 'labels' as const })),
  ];
  for (const { column, source } of candidates) {
    if (source === 'labels' && !readable.has(column)) {
      refused.push({ column, reason: 'not-allow-listed', source });
      continue;
    }
    const reason = checkLevels(
      column,
      opts.cases.map((c) => c?.[column]),
    );
    if (reason) refused.push({ column, reason, source });
    else released.push(column);
  }
  return { released, refused };
}
