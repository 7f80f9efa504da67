import type { DataSet } from 'dicom-parser';
import { dicomAgeStringYears, normaliseSex } from '../report/attributes.ts';
import type { DicomImage, FrameRescale } from './image.ts';
import { TAG } from './tags.ts';

/** The header fields of one image beyond its UIDs and container: pixel layout, rescale, and attributes. */

export type PixelLayout = Pick<
  DicomImage,
  | 'rows'
  | 'columns'
  | 'frames'
  | 'samplesPerPixel'
  | 'planarConfiguration'
  | 'photometric'
  | 'bitsAllocated'
  | 'bitsStored'
  | 'highBit'
  | 'pixelRepresentation'
  | 'rescaleSlope'
  | 'rescaleIntercept'
>;

/** How the pixels are laid out and rescaled; undefined when the header contradicts itself ('decode-error'). */
export function readPixelLayout(dataSet: DataSet): PixelLayout | undefined {
  const rows = positiveInt(dataSet.uint16(TAG.rows));
  const columns = positiveInt(dataSet.uint16(TAG.columns));
  const bitsAllocated = positiveInt(dataSet.uint16(TAG.bitsAllocated));
  if (rows === undefined || columns === undefined || bitsAllocated === undefined) return undefined;
  const samplesPerPixel = positiveInt(
    dataSet.elements[TAG.samplesPerPixel] ? dataSet.uint16(TAG.samplesPerPixel) : 1,
  );
  const bitsStored = positiveInt(
    dataSet.elements[TAG.bitsStored] ? dataSet.uint16(TAG.bitsStored) : bitsAllocated,
  );
  const highBit = dataSet.elements[TAG.highBit] ? dataSet.uint16(TAG.highBit) : (bitsStored ?? 0) - 1;
  const pixelRepresentation = dataSet.uint16(TAG.pixelRepresentation) ?? 0;
  const planarConfiguration = dataSet.uint16(TAG.planarConfiguration) ?? 0;
  const framesText = dataSet.string(TAG.frames);
  const frames = framesText === undefined || framesText === '' ? 1 : positiveInt(Number(framesText));
  if (
    samplesPerPixel === undefined ||
    bitsStored === undefined ||
    highBit === undefined ||
    frames === undefined ||
    (pixelRepresentation !== 0 && pixelRepresentation !== 1) ||
    (planarConfiguration !== 0 && planarConfiguration !== 1)
  )
    return undefined;
  const rescaleSlope = dataSet.elements[TAG.rescaleSlope] ? dataSet.floatString(TAG.rescaleSlope) : 1;
  const rescaleIntercept = dataSet.elements[TAG.rescaleIntercept]
    ? dataSet.floatString(TAG.rescaleIntercept)
    : 0;
  if (!Number.isFinite(rescaleSlope) || !Number.isFinite(rescaleIntercept)) return undefined;
  const photometric = (dataSet.string(TAG.photometric) ?? '').toUpperCase();
  return {
    rows,
    columns,
    frames,
    samplesPerPixel,
    planarConfiguration,
    photometric,
    bitsAllocated,
    bitsStored,
    highBit,
    pixelRepresentation,
    rescaleSlope: rescaleSlope as number,
    rescaleIntercept: rescaleIntercept as number,
  };
}

/** The optional fields: per-frame rescale, padding, and the attributes subgroups and selection use. */
export function readOptionalFields(dataSet: DataSet, layout: PixelLayout): Partial<DicomImage> {
  const out: Partial<DicomImage> = {};
  const frameRescale = readFrameRescale(dataSet, layout.frames);
  if (frameRescale) out.frameRescale = frameRescale;
  const padding = readPadding(dataSet, layout.pixelRepresentation);
  if (padding) out.pixelPadding = padding;
  const scannerModel = dataSet.string(TAG.scannerModel);
  if (scannerModel) out.scannerModel = scannerModel;
  const view = dataSet.string(TAG.viewPosition);
  if (view) out.viewPosition = view.toUpperCase();
  const sex = normaliseSex(dataSet.string(TAG.patientSex) ?? '');
  if (sex !== 'unknown') out.sex = sex;
  const age = ageInYears(
    dataSet.string(TAG.patientAge),
    dataSet.string(TAG.patientBirthDate),
    dataSet.string(TAG.studyDate),
  );
  if (age !== undefined) out.ageYears = age;
  const bodyPart = dataSet.string(TAG.bodyPart);
  if (bodyPart) out.bodyPart = bodyPart.toUpperCase();
  const manufacturer = dataSet.string(TAG.manufacturer);
  if (manufacturer) out.manufacturer = manufacturer;
  return out;
}

export function positiveInt(value: number | undefined): number | undefined {
  return value !== undefined && Number.isInteger(value) && value > 0 ? value : undefined;
}

export function multiValue(dataSet: DataSet, tag: string): string[] {
  const out: string[] = [];
  const n = dataSet.numStringValues(tag) ?? 0;
  for (let i = 0; i < n; i++) out.push((dataSet.string(tag, i) ?? '').toUpperCase());
  return out;
}

type Element = DataSet['elements'][string];

/** First item's Pixel Value Transformation values inside one functional-groups item, if any. */
function rescaleIn(group: DataSet | undefined): FrameRescale | undefined {
  const item = group?.elements[TAG.pixelValueTransformation]?.items?.[0]?.dataSet;
  if (!item) return undefined;
  const slope = item.elements[TAG.rescaleSlope] ? item.floatString(TAG.rescaleSlope) : 1;
  const intercept = item.elements[TAG.rescaleIntercept] ? item.floatString(TAG.rescaleIntercept) : 0;
  if (slope === undefined || intercept === undefined) return undefined;
  if (!Number.isFinite(slope) || !Number.isFinite(intercept)) return undefined;
  return { slope, intercept };
}

/**
 * Enhanced multi-frame objects (PS3.3 C.7.6.16) carry rescale in the Per-Frame or Shared Functional Groups
 * rather than at the top level; per-frame wins over shared. Undefined when neither has it.
 */
function readFrameRescale(dataSet: DataSet, frames: number): FrameRescale[] | undefined {
  const shared = rescaleIn(dataSet.elements[TAG.sharedGroups]?.items?.[0]?.dataSet);
  const perFrameItems = dataSet.elements[TAG.perFrameGroups]?.items ?? [];
  const perFrame = perFrameItems.map((item) => rescaleIn(item.dataSet));
  if (!shared && !perFrame.some(Boolean)) return undefined;
  const out: FrameRescale[] = [];
  for (let f = 0; f < frames; f++) {
    const r = perFrame[f] ?? shared;
    if (!r) return undefined; // incomplete: fall back to the top-level rescale for all frames
    out.push(r);
  }
  return out;
}

function readPadding(
  dataSet: DataSet,
  pixelRepresentation: 0 | 1,
): { value: number; limit?: number } | undefined {
  const read = (tag: string) => {
    const el: Element | undefined = dataSet.elements[tag];
    if (!el || el.length < 2) return undefined;
    return pixelRepresentation === 1 ? dataSet.int16(tag) : dataSet.uint16(tag);
  };
  const value = read(TAG.pixelPaddingValue);
  if (value === undefined) return undefined;
  const limit = read(TAG.pixelPaddingRangeLimit);
  return limit === undefined ? { value } : { value, limit };
}

function dicomDate(text: string | undefined): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec((text ?? '').trim());
  if (!m) return undefined;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** Patient Age (AS, e.g. 045Y, 006M) first; otherwise whole years between Birth Date and Study Date. */
export function ageInYears(age?: string, birth?: string, study?: string): number | undefined {
  const stated = dicomAgeStringYears(age ?? '');
  if (stated !== null) return Math.floor(stated);
  const b = dicomDate(birth);
  const s = dicomDate(study);
  if (!b || !s || s < b) return undefined;
  let years = s.getUTCFullYear() - b.getUTCFullYear();
  if (
    s.getUTCMonth() < b.getUTCMonth() ||
    (s.getUTCMonth() === b.getUTCMonth() && s.getUTCDate() < b.getUTCDate())
  )
    years--;
  return years >= 0 && years < 150 ? years : undefined;
}
