/**
 * Subgroup attributes of a study, normalised at the site into the bounded values the closed report allows.
 * DICOM strings are free text (a manufacturer or model name can hold anything a technician typed), so no raw
 * string is ever released: every value becomes a short upper-case token, and the privacy gate then merges
 * values with fewer than k cases into 'other'.
 */
import { AGE_BANDS, type AgeBand } from '../../schemas/site-report.ts';

/** Longest released value. */
export const MAX_VALUE_LENGTH = 32;
const ATTRIBUTE_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

/**
 * Free text → token: Unicode compatibility-normalised, diacritics dropped, upper-cased; every run of
 * characters outside [A-Z0-9 _.-] becomes one "_"; whitespace collapsed; trimmed of separators; cut to
 * 32 characters. Empty → 'unknown'.
 */
export function normaliseToken(raw: string): string {
  const s = raw
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toUpperCase()
    .replace(/\s+/g, ' ')
    .replace(/[^A-Z0-9 _.-]+/g, '_')
    .replace(/^[ _.-]+|[ _.-]+$/g, '')
    .slice(0, MAX_VALUE_LENGTH)
    .replace(/[ _.-]+$/g, '');
  return s.length === 0 ? 'unknown' : s;
}

/** DICOM Patient's Sex (0010,0040): M, F or O; anything else 'unknown'. */
export function normaliseSex(raw: string): 'M' | 'F' | 'O' | 'unknown' {
  const s = raw.trim().toUpperCase();
  if (s === 'M' || s === 'MALE') return 'M';
  if (s === 'F' || s === 'FEMALE') return 'F';
  if (s === 'O' || s === 'OTHER') return 'O';
  return 'unknown';
}

/**
 * Years per unit of a DICOM Age String (PS3.5 VR "AS": nnnD, nnnW, nnnM or nnnY). A week is exactly 7 days, so
 * W and D share one year length: n weeks and 7n days are the same age.
 */
const DAYS_PER_YEAR = 365.25;
const AGE_STRING_YEARS = {
  D: (n: number) => n / DAYS_PER_YEAR,
  W: (n: number) => (7 * n) / DAYS_PER_YEAR,
  M: (n: number) => n / 12,
  Y: (n: number) => n,
} as const;

/**
 * Age in years (fractional) from a DICOM Age String. The standard's form is 3 digits and a unit ("045Y"); 1–3
 * digits are read, since writers drop the zero padding. Null when the text is not an age string.
 */
export function dicomAgeStringYears(raw: string): number | null {
  const m = /^(\d{1,3})([DWMY])$/.exec(raw.trim().toUpperCase());
  if (!m) return null;
  return AGE_STRING_YEARS[m[2] as keyof typeof AGE_STRING_YEARS](Number(m[1]));
}

/** Age in years from a number ("63", "63.5") or a DICOM Age String; null when unreadable or negative. */
export function parseAgeYears(raw: string): number | null {
  const dicom = dicomAgeStringYears(raw);
  if (dicom !== null) return dicom;
  const s = raw.trim();
  if (!/^\d+(\.\d+)?$/.test(s)) return null;
  const v = Number(s);
  return Number.isFinite(v) && v >= 0 && v < 200 ? v : null;
}

/** Age band 0–17, 18–39, 40–59, 60–74, 75+ of an age in years (completed years); undefined when unusable. */
export function ageBandOfYears(years: number | undefined): AgeBand | undefined {
  if (years === undefined || !Number.isFinite(years) || years < 0) return undefined;
  const y = Math.floor(years);
  if (y <= 17) return AGE_BANDS[0];
  if (y <= 39) return AGE_BANDS[1];
  if (y <= 59) return AGE_BANDS[2];
  if (y <= 74) return AGE_BANDS[3];
  return AGE_BANDS[4];
}

/** The age band of a label-file or DICOM age text; 'unknown' when the age cannot be read. */
export function ageBand(raw: string): AgeBand | 'unknown' {
  return ageBandOfYears(parseAgeYears(raw) ?? undefined) ?? 'unknown';
}

/**
 * The attribute a raw key reports as, or null when the key cannot be an attribute name: "age" (years or a
 * DICOM age) reports as "ageBand"; other keys as themselves when they are bounded identifiers.
 */
export function attributeName(key: string): string | null {
  if (key === 'age') return 'ageBand';
  return ATTRIBUTE_NAME.test(key) ? key : null;
}

/**
 * Normalises one attribute value for the report: sex → M/F/O; age/ageBand → a band; every other attribute
 * (manufacturer, scannerModel, bodyPart, campaign-named ones) → normaliseToken. Missing → 'unknown'.
 */
export function normaliseAttribute(key: string, raw: string | undefined): string {
  if (raw === undefined) return 'unknown';
  if (key === 'sex') return normaliseSex(raw);
  if (key === 'age') return ageBand(raw);
  if (key === 'ageBand') {
    const t = raw.trim();
    if ((AGE_BANDS as readonly string[]).includes(t)) return t;
    return ageBand(t);
  }
  return normaliseToken(raw);
}
