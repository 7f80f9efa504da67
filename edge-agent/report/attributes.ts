/**
 * Subgroup attributes of a study, normalised at the site into the bounded values the closed report allows.
 * DICOM strings are free text (a manufacturer or model name can hold anything a technician typed), so no raw
 * string is ever released: every value becomes a short upper-case token, and the privacy gate then merges
 * values with fewer than k cases into 'other'.
 */
import { AGE_BANDS } from '../../schemas/site-report.ts';

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
export function normaliseSex(raw: string): string {
  const s = raw.trim().toUpperCase();
  if (s === 'M' || s === 'MALE') return 'M';
  if (s === 'F' || s === 'FEMALE') return 'F';
  if (s === 'O' || s === 'OTHER') return 'O';
  return 'unknown';
}

/**
 * Age in years from a number ("63", "63.5") or a DICOM Age String (0010,1010) "nnnD|W|M|Y"; null when
 * unreadable or negative.
 */
export function parseAgeYears(raw: string): number | null {
  const s = raw.trim().toUpperCase();
  const dicom = /^(\d{1,3})([DWMY])$/.exec(s);
  if (dicom) {
    const n = Number(dicom[1]);
    const per = { D: 365.25, W: 52.1775, M: 12, Y: 1 }[dicom[2] as 'D' | 'W' | 'M' | 'Y'];
    return n / per;
  }
  if (!/^\d+(\.\d+)?$/.test(s)) return null;
  const v = Number(s);
  return Number.isFinite(v) && v >= 0 && v < 200 ? v : null;
}

/** Age band 0–17, 18–39, 40–59, 60–74, 75+ (completed years); 'unknown' when the age cannot be read. */
export function ageBand(raw: string): string {
  const age = parseAgeYears(raw);
  if (age === null) return 'unknown';
  const y = Math.floor(age);
  if (y <= 17) return AGE_BANDS[0];
  if (y <= 39) return AGE_BANDS[1];
  if (y <= 59) return AGE_BANDS[2];
  if (y <= 74) return AGE_BANDS[3];
  return AGE_BANDS[4];
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
