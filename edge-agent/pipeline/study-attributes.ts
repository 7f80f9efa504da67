import type { AgeBand } from '../../schemas/site-report.ts';
import type { DicomImage } from '../dicom/parse.ts';
import { ageBandOfYears } from '../report/attributes.ts';

/**
 * Per-study attributes for subgroup analysis. They stay at the site: only aggregated, privacy-gated subgroup
 * counts built from them may leave. Age is kept as a band only — the raw age or birth date never leaves the
 * parser's result.
 */
export interface StudyAttributes {
  sex?: 'F' | 'M' | 'O';
  ageBand?: AgeBand;
  manufacturer?: string;
  scannerModel?: string;
  bodyPart?: string;
}

export function studyAttributesOf(
  image: Pick<DicomImage, 'sex' | 'ageYears' | 'manufacturer' | 'scannerModel' | 'bodyPart'>,
): StudyAttributes {
  const out: StudyAttributes = {};
  if (image.sex) out.sex = image.sex;
  const band = ageBandOfYears(image.ageYears);
  if (band) out.ageBand = band;
  if (image.manufacturer) out.manufacturer = image.manufacturer.trim();
  if (image.scannerModel) out.scannerModel = image.scannerModel.trim();
  if (image.bodyPart) out.bodyPart = image.bodyPart;
  return out;
}
