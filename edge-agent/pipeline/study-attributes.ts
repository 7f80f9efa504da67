import type { DicomImage } from '../dicom/parse.ts';

/**
 * Per-study attributes for subgroup analysis. They stay at the site: only aggregated, privacy-gated subgroup
 * counts built from them may leave. Age is kept as a band only — the raw age or birth date never leaves the
 * parser's result.
 */
export type AgeBand = '0-17' | '18-39' | '40-59' | '60-74' | '75+';

export interface StudyAttributes {
  sex?: 'F' | 'M' | 'O';
  ageBand?: AgeBand;
  manufacturer?: string;
  scannerModel?: string;
  bodyPart?: string;
}

export function ageBand(years: number | undefined): AgeBand | undefined {
  if (years === undefined || !Number.isFinite(years) || years < 0) return undefined;
  if (years < 18) return '0-17';
  if (years < 40) return '18-39';
  if (years < 60) return '40-59';
  if (years < 75) return '60-74';
  return '75+';
}

export function studyAttributesOf(
  image: Pick<DicomImage, 'sex' | 'ageYears' | 'manufacturer' | 'scannerModel' | 'bodyPart'>,
): StudyAttributes {
  const out: StudyAttributes = {};
  if (image.sex) out.sex = image.sex;
  const band = ageBand(image.ageYears);
  if (band) out.ageBand = band;
  if (image.manufacturer) out.manufacturer = image.manufacturer.trim();
  if (image.scannerModel) out.scannerModel = image.scannerModel.trim();
  if (image.bodyPart) out.bodyPart = image.bodyPart;
  return out;
}
