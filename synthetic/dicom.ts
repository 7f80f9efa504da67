import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import dcmjs from 'dcmjs';
import type { ExclusionReason } from '../schemas/exclusion-reasons.ts';
import { type ChestAnatomy, HU, makeAnatomy, type Nodule, placeNodule, renderSlice } from './phantom.ts';
import { Rng } from './rng.ts';

/**
 * Synthetic chest CT sites written as real DICOM Part 10 files, with plausible PHI in every patient and study
 * attribute so that de-identification and "nothing leaves the site" checks have something to find.
 */

export const SOP_CLASS = {
  ctImage: '1.2.840.10008.5.1.4.1.1.2',
  mrImage: '1.2.840.10008.5.1.4.1.1.4',
} as const;

export const TRANSFER_SYNTAX = {
  explicitLittle: '1.2.840.10008.1.2.1',
  jpeg2000: '1.2.840.10008.1.2.4.90',
  /** MPEG-4 AVC/H.264 video: a syntax the agent does not decode (its 'unsupported-transfer-syntax' input). */
  mpeg4: '1.2.840.10008.1.2.4.102',
} as const;

/** Private block written into every file; the agent must never forward private tags. */
export const PRIVATE_CREATOR = 'CAIRN SYNTHETIC PHI';
const PRIVATE_GROUP = '0009';

// A fixed implementation UID (not PHI): the same for every file this generator writes.
const IMPLEMENTATION_CLASS_UID = '2.25.183735937624128372346198736612990451207';
const IMPLEMENTATION_VERSION = 'CAIRN_SYNTH_1';

/**
 * Names of the PHI-bearing attributes, as passed to `SyntheticSiteSpec.phi`. UIDs are included: they link
 * back to the hospital's archive. `PrivatePatientString` is the value in the private block.
 */
export const PHI_TAGS = [
  'PatientName',
  'PatientID',
  'PatientBirthDate',
  'PatientSex',
  'PatientAge',
  'OtherPatientIDs',
  'AccessionNumber',
  'StudyDate',
  'SeriesDate',
  'AcquisitionDate',
  'ContentDate',
  'StudyTime',
  'SeriesTime',
  'AcquisitionTime',
  'ContentTime',
  'StudyID',
  'StudyDescription',
  'InstitutionName',
  'InstitutionAddress',
  'ReferringPhysicianName',
  'PerformingPhysicianName',
  'OperatorsName',
  'StationName',
  'DeviceSerialNumber',
  'PrivatePatientString',
  'StudyInstanceUID',
  'SeriesInstanceUID',
  'FrameOfReferenceUID',
] as const;
export type PhiTag = (typeof PHI_TAGS)[number];

export interface SyntheticSiteSpec {
  siteId: string;
  seed: number;
  studies: number;
  /** Fraction of studies with a nodule. */
  prevalence: number;
  manufacturer: string;
  scannerModel: string;
  institution: string;
  /** Standard deviation of the scanner noise, in HU. */
  noiseHu: number;
  /** Nodule attenuation range in HU (solid nodules are about +20…+60). */
  nodule: { minHu: number; maxHu: number };
  /** Image rows and columns (default 128). */
  size?: number;
  /** Slices per study, inclusive range (default [2, 4]). */
  slicesPerStudy?: [number, number];
  /**
   * true: PixelRepresentation 1 (signed) with RescaleIntercept 0; false (default): unsigned stored values with
   * RescaleIntercept −1024.
   */
  signedPixels?: boolean;
  /** BitsStored (default 12 for unsigned pixels, 16 for signed). */
  bitsStored?: 12 | 16;
  /** How many studies are left out of labels.csv (default 1), so that 'no-label' exclusions occur. */
  unlabeledStudies?: number;
  /**
   * Chance that a lung on a slice shows one large vessel cross-section, the hard negatives that look like a
   * small nodule (default 0.12).
   */
  largeVesselProbability?: number;
  /** Nodule radius range in pixels at 128 px (default [3, 8]); scaled with `size`. */
  noduleRadiusPx?: [number, number];
  /**
   * Override any PHI value (for canary tests): called with a PHI_TAGS name and the study index; return a string
   * to use it instead of the generated value. SOPInstanceUID is never overridden (it must be unique per file).
   */
  phi?: (tag: string, studyIndex: number) => string | undefined;
}

export interface SyntheticStudy {
  studyInstanceUid: string;
  label: 0 | 1;
  files: string[];
  /** Whether the study has a row in labels.csv. */
  labeled: boolean;
  /** For positives: which slice files (indices into `files`) show the nodule. */
  noduleSlices: number[];
  /** For positives: where the nodule is (pixels, image coordinates) and on which slice its centre lies. */
  nodule?: { x: number; y: number; radius: number; hu: number; centreSlice: number; juxtapleural: boolean };
}

export interface SyntheticSite {
  dicomDir: string;
  labelsPath: string;
  studies: SyntheticStudy[];
  /**
   * Every distinct PHI string written, including UIDs, except one-letter PatientSex codes (M/F/O), which would
   * match almost any text.
   */
  phiValues: string[];
  /** The same values with the attribute they were written to. */
  phi: { tag: string; value: string }[];
}

// ---------------------------------------------------------------------------------------------------------
// Identifiers and PHI

/** A UID under the 2.25 root: a 128-bit random integer in decimal, as PS3.5 B.2 allows. */
export function uid(rng: Rng): string {
  let n = 0n;
  for (let i = 0; i < 4; i++) n = (n << 32n) | BigInt(rng.uint32());
  // A leading component of 0 is allowed only as the single digit "0"; a 2.25 UID of 0 would be odd anyway.
  return `2.25.${n === 0n ? 1n : n}`;
}

const FAMILY_NAMES = [
  'SMITH',
  'JOHNSON',
  'WILLIAMS',
  'GARCIA',
  'MILLER',
  'DAVIS',
  'RODRIGUEZ',
  'MARTINEZ',
  'HERNANDEZ',
  'LOPEZ',
  'MUELLER',
  'SCHMIDT',
  'SCHNEIDER',
  'FISCHER',
  'WEBER',
  'MEYER',
  'WAGNER',
  'BECKER',
  'DUBOIS',
  'MOREAU',
  'LAURENT',
  'BERNARD',
  'ROSSI',
  'RUSSO',
  'FERRARI',
  'ESPOSITO',
  'BIANCHI',
  'JANSEN',
  'DE VRIES',
  'VAN DIJK',
  'NOWAK',
  'KOWALSKI',
  'NIELSEN',
  'HANSEN',
  'JOHANSSON',
  'KORHONEN',
  'OKAFOR',
  'TANAKA',
  'NGUYEN',
  'KIM',
];
const GIVEN_NAMES = [
  'JAMES',
  'MARY',
  'ROBERT',
  'PATRICIA',
  'JOHN',
  'JENNIFER',
  'MICHAEL',
  'LINDA',
  'DAVID',
  'ELIZABETH',
  'ANNA',
  'LUKAS',
  'SOPHIE',
  'JONAS',
  'MARIE',
  'PAUL',
  'CAMILLE',
  'LEA',
  'GIULIA',
  'MARCO',
  'FRANCESCA',
  'LUCA',
  'EMMA',
  'DAAN',
  'SANNE',
  'PIOTR',
  'AGNIESZKA',
  'MADS',
  'INGRID',
  'AINO',
  'CHIDI',
  'NGOZI',
  'HIROSHI',
  'YUKI',
  'MINH',
  'LAN',
  'JI-HOON',
  'SEO-YEON',
  'OMAR',
  'FATIMA',
];
const STREETS = [
  'Main St',
  'Hospital Rd',
  'Elm Ave',
  'Kirchweg',
  'Rue de la Paix',
  'Via Roma',
  'Parkweg',
  'Lake Dr',
];
const CITIES = ['Springfield', 'Riverton', 'Lakeside', 'Hillsborough', 'Fairview', 'Brookfield', 'Ashford'];
const STUDY_DESCRIPTIONS = [
  'CT CHEST W/O CONTRAST',
  'CT THORAX LOW DOSE',
  'CT CHEST LUNG SCREENING',
  'CT THORAX NATIVE',
];

function personName(rng: Rng): string {
  const middle = rng.bernoulli(0.3) ? `^${rng.pick(GIVEN_NAMES).charAt(0)}` : '';
  return `${rng.pick(FAMILY_NAMES)}^${rng.pick(GIVEN_NAMES)}${middle}`;
}

function digits(rng: Rng, n: number): string {
  let s = String(rng.int(1, 9));
  for (let i = 1; i < n; i++) s += String(rng.int(0, 9));
  return s;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function dicomDate(d: Date): string {
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1, 2)}${pad(d.getUTCDate(), 2)}`;
}

function dicomTime(secondsOfDay: number): string {
  const s = Math.max(0, Math.min(86399, Math.floor(secondsOfDay)));
  return `${pad(Math.floor(s / 3600), 2)}${pad(Math.floor(s / 60) % 60, 2)}${pad(s % 60, 2)}`;
}

/** Whole years between two dates, as DICOM Age String (nnnY). */
function ageString(birth: Date, at: Date): string {
  let years = at.getUTCFullYear() - birth.getUTCFullYear();
  const beforeBirthday =
    at.getUTCMonth() < birth.getUTCMonth() ||
    (at.getUTCMonth() === birth.getUTCMonth() && at.getUTCDate() < birth.getUTCDate());
  if (beforeBirthday) years--;
  return `${pad(years, 3)}Y`;
}

interface SiteIdentity {
  institution: string;
  institutionAddress: string;
  stationName: string;
  deviceSerialNumber: string;
  manufacturer: string;
  scannerModel: string;
  operators: string[];
  radiologists: string[];
  referrers: string[];
  mrnPrefix: string;
}

function siteIdentity(
  rng: Rng,
  institution: string,
  manufacturer: string,
  scannerModel: string,
): SiteIdentity {
  const staff = (n: number) => Array.from({ length: n }, () => personName(rng));
  return {
    institution,
    institutionAddress: `${rng.int(1, 999)} ${rng.pick(STREETS)}, ${rng.pick(CITIES)} ${digits(rng, 5)}`,
    stationName: `CT${pad(rng.int(1, 9), 2)}-${digits(rng, 4)}`,
    deviceSerialNumber: digits(rng, 8),
    manufacturer,
    scannerModel,
    operators: staff(4),
    radiologists: staff(3),
    referrers: staff(8),
    mrnPrefix: String(rng.int(10, 99)),
  };
}

type PhiValues = Record<PhiTag, string>;

function studyPhi(rng: Rng, site: SiteIdentity): PhiValues {
  const studyDay = new Date(Date.UTC(2019, 0, 1) + rng.int(0, 6 * 365) * 86_400_000);
  const ageYears = rng.int(45, 84);
  const birth = new Date(studyDay.getTime() - (ageYears * 365.25 + rng.int(0, 364)) * 86_400_000);
  const start = rng.int(7 * 3600, 19 * 3600);
  const sex = rng.pick(['F', 'M']);
  const name = personName(rng);
  const mrn = `${site.mrnPrefix}${digits(rng, 6)}`;
  return {
    PatientName: name,
    PatientID: mrn,
    PatientBirthDate: dicomDate(birth),
    PatientSex: sex,
    PatientAge: ageString(birth, studyDay),
    OtherPatientIDs: `INS${digits(rng, 9)}`,
    AccessionNumber: `A${digits(rng, 9)}`,
    StudyDate: dicomDate(studyDay),
    SeriesDate: dicomDate(studyDay),
    AcquisitionDate: dicomDate(studyDay),
    ContentDate: dicomDate(studyDay),
    StudyTime: dicomTime(start),
    SeriesTime: dicomTime(start + 95),
    AcquisitionTime: dicomTime(start + 102),
    ContentTime: dicomTime(start + 131),
    StudyID: digits(rng, 6),
    StudyDescription: rng.pick(STUDY_DESCRIPTIONS),
    InstitutionName: site.institution,
    InstitutionAddress: site.institutionAddress,
    ReferringPhysicianName: rng.pick(site.referrers),
    PerformingPhysicianName: rng.pick(site.radiologists),
    OperatorsName: rng.pick(site.operators),
    StationName: site.stationName,
    DeviceSerialNumber: site.deviceSerialNumber,
    PrivatePatientString: `${name.replace(/\^/g, ' ')} MRN ${mrn} DOB ${dicomDate(birth)}`,
    StudyInstanceUID: uid(rng),
    SeriesInstanceUID: uid(rng),
    FrameOfReferenceUID: uid(rng),
  };
}

function applyOverrides(
  values: PhiValues,
  override: SyntheticSiteSpec['phi'] | undefined,
  studyIndex: number,
): PhiValues {
  if (!override) return values;
  const out = { ...values };
  for (const tag of PHI_TAGS) {
    const v = override(tag, studyIndex);
    if (v !== undefined) out[tag] = v;
  }
  return out;
}

function collectPhi(
  into: Map<string, string>,
  values: PhiValues | Partial<PhiValues>,
  sopInstanceUids: string[],
): void {
  for (const [tag, value] of Object.entries(values)) {
    if (value === undefined || value === '') continue;
    if (tag === 'PatientSex' && value.length <= 1) continue;
    if (!into.has(value)) into.set(value, tag);
  }
  for (const u of sopInstanceUids) if (!into.has(u)) into.set(u, 'SOPInstanceUID');
}

// ---------------------------------------------------------------------------------------------------------
// Datasets (dcmjs "denaturalized" form: tag → { vr, Value })

interface Element {
  vr: string;
  Value?: unknown[];
}
type Dataset = Record<string, Element>;

const str = (vr: string, ...values: string[]): Element => ({ vr, Value: values });
const num = (vr: string, ...values: number[]): Element => ({ vr, Value: values });
const pn = (name: string): Element => ({ vr: 'PN', Value: [{ Alphabetic: name }] });

/** Decimal strings are limited to 16 characters; keep a few decimals so positions stay exact enough. */
function ds(v: number): number {
  return Math.round(v * 1000) / 1000;
}

export interface PixelFormat {
  signed: boolean;
  bitsStored: 12 | 16;
  slope: number;
  intercept: number;
}

export function pixelFormat(signed: boolean, bitsStored?: 12 | 16): PixelFormat {
  return signed
    ? { signed: true, bitsStored: bitsStored ?? 16, slope: 1, intercept: 0 }
    : { signed: false, bitsStored: bitsStored ?? 12, slope: 1, intercept: -1024 };
}

/** HU → stored values, clamped to what BitsStored can represent. */
export function encodePixels(hu: Float32Array, fmt: PixelFormat): Uint16Array | Int16Array {
  const n = hu.length;
  const inv = 1 / fmt.slope;
  const icpt = fmt.intercept;
  if (fmt.signed) {
    const lo = -(2 ** (fmt.bitsStored - 1));
    const hi = 2 ** (fmt.bitsStored - 1) - 1;
    const out = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      const v = Math.round((hu[i]! - icpt) * inv);
      out[i] = Math.min(Math.max(v, lo), hi);
    }
    return out;
  }
  const hi = 2 ** fmt.bitsStored - 1;
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const v = Math.round((hu[i]! - icpt) * inv);
    out[i] = Math.min(Math.max(v, 0), hi);
  }
  return out;
}

interface ImageParams {
  sopClassUid: string;
  sopInstanceUid: string;
  modality: 'CT' | 'MR';
  bodyPart: string;
  phi: PhiValues;
  manufacturer: string;
  scannerModel: string;
  seriesNumber: number;
  instanceNumber: number;
  size: number;
  pixelSpacing: number;
  sliceThickness: number;
  sliceLocation: number;
  kvp: number;
  window: { center: number[]; width: number[] };
  fmt: PixelFormat;
  /** Omitted for the no-pixel-data case. */
  pixels?: Uint16Array | Int16Array;
  seriesDescription: string;
}

function imageDataset(p: ImageParams): Dataset {
  const { phi } = p;
  const half = (p.size * p.pixelSpacing) / 2;
  const d: Dataset = {
    // dcmjs writes strings as UTF-8, so that is the character set to declare (ISO_IR 100 would be Latin-1).
    '00080005': str('CS', 'ISO_IR 192'),
    '00080008':
      p.modality === 'CT'
        ? str('CS', 'ORIGINAL', 'PRIMARY', 'AXIAL')
        : str('CS', 'ORIGINAL', 'PRIMARY', 'M', 'ND'),
    '00080016': str('UI', p.sopClassUid),
    '00080018': str('UI', p.sopInstanceUid),
    '00080020': str('DA', phi.StudyDate),
    '00080021': str('DA', phi.SeriesDate),
    '00080022': str('DA', phi.AcquisitionDate),
    '00080023': str('DA', phi.ContentDate),
    '00080030': str('TM', phi.StudyTime),
    '00080031': str('TM', phi.SeriesTime),
    '00080032': str('TM', phi.AcquisitionTime),
    '00080033': str('TM', phi.ContentTime),
    '00080050': str('SH', phi.AccessionNumber),
    '00080060': str('CS', p.modality),
    '00080070': str('LO', p.manufacturer),
    '00080080': str('LO', phi.InstitutionName),
    '00080081': str('ST', phi.InstitutionAddress),
    '00080090': pn(phi.ReferringPhysicianName),
    '00081010': str('SH', phi.StationName),
    '00081030': str('LO', phi.StudyDescription),
    '0008103E': str('LO', p.seriesDescription),
    '00081050': pn(phi.PerformingPhysicianName),
    '00081070': pn(phi.OperatorsName),
    '00081090': str('LO', p.scannerModel),
    [`${PRIVATE_GROUP}0010`]: str('LO', PRIVATE_CREATOR),
    [`${PRIVATE_GROUP}1010`]: str('LO', phi.PrivatePatientString),
    '00100010': pn(phi.PatientName),
    '00100020': str('LO', phi.PatientID),
    '00100030': str('DA', phi.PatientBirthDate),
    '00100040': str('CS', phi.PatientSex),
    '00101000': str('LO', phi.OtherPatientIDs),
    '00101010': str('AS', phi.PatientAge),
    '00180015': str('CS', p.bodyPart),
    '00180050': num('DS', ds(p.sliceThickness)),
    '00181000': str('LO', phi.DeviceSerialNumber),
    '00185100': str('CS', 'HFS'),
    '0020000D': str('UI', phi.StudyInstanceUID),
    '0020000E': str('UI', phi.SeriesInstanceUID),
    '00200010': str('SH', phi.StudyID),
    '00200011': num('IS', p.seriesNumber),
    '00200012': num('IS', 1),
    '00200013': num('IS', p.instanceNumber),
    '00200032': num('DS', ds(-half), ds(-half), ds(p.sliceLocation)),
    '00200037': num('DS', 1, 0, 0, 0, 1, 0),
    '00200052': str('UI', phi.FrameOfReferenceUID),
    '00201040': str('LO', 'SN'),
    '00201041': num('DS', ds(p.sliceLocation)),
    '00280002': num('US', 1),
    '00280004': str('CS', 'MONOCHROME2'),
    '00280010': num('US', p.size),
    '00280011': num('US', p.size),
    '00280030': num('DS', ds(p.pixelSpacing), ds(p.pixelSpacing)),
    '00280100': num('US', 16),
    '00280101': num('US', p.fmt.bitsStored),
    '00280102': num('US', p.fmt.bitsStored - 1),
    '00280103': num('US', p.fmt.signed ? 1 : 0),
    '00281050': num('DS', ...p.window.center),
    '00281051': num('DS', ...p.window.width),
    '00281052': num('DS', p.fmt.intercept),
    '00281053': num('DS', p.fmt.slope),
  };
  if (p.modality === 'CT') {
    d['00180060'] = num('DS', p.kvp);
    d['00181210'] = str('SH', 'STANDARD');
    d['00281054'] = str('LO', 'HU');
  } else {
    d['00180020'] = str('CS', 'SE');
    d['00180021'] = str('CS', 'NONE');
    d['00180022'] = str('CS', 'SAT1');
    d['00180023'] = str('CS', '2D');
    d['00180091'] = num('IS', 1);
    d['00180080'] = num('DS', 500);
    d['00180081'] = num('DS', 15);
    d['00180087'] = num('DS', 1.5);
  }
  if (p.pixels) {
    const px = p.pixels;
    d['7FE00010'] = { vr: 'OW', Value: [px.buffer.slice(px.byteOffset, px.byteOffset + px.byteLength)] };
  }
  return d;
}

function sortDataset(d: Dataset): Dataset {
  const out: Dataset = {};
  for (const key of Object.keys(d).sort()) out[key] = d[key]!;
  return out;
}

/** A DICOM Part 10 byte stream (128-byte preamble, DICM, file meta, data set). */
export function encodePart10(
  dataset: Dataset,
  transferSyntax: string = TRANSFER_SYNTAX.explicitLittle,
): Uint8Array {
  const sopClass = dataset['00080016']?.Value?.[0];
  const sopInstance = dataset['00080018']?.Value?.[0];
  const meta: Dataset = {
    '00020001': { vr: 'OB', Value: [new Uint8Array([0, 1]).buffer] },
    '00020002': str('UI', String(sopClass)),
    '00020003': str('UI', String(sopInstance)),
    '00020010': str('UI', transferSyntax),
    '00020012': str('UI', IMPLEMENTATION_CLASS_UID),
    '00020013': str('SH', IMPLEMENTATION_VERSION),
  };
  const dict = new dcmjs.data.DicomDict(meta);
  dict.dict = sortDataset(dataset);
  return new Uint8Array(dict.write() as ArrayBuffer);
}

// ---------------------------------------------------------------------------------------------------------
// Sites

interface StudyPlan {
  index: number;
  label: 0 | 1;
  slices: number;
  anatomy: ChestAnatomy;
  nodule?: Nodule;
}

/** Typical chest CT display windows, used only as the file's own (informative) Window Center/Width. */
const DISPLAY_WINDOWS = [
  { center: [40, -600], width: [400, 1500] },
  { center: [-600], width: [1600] },
  { center: [-550, 50], width: [1500, 350] },
];

export async function writeSyntheticSite(spec: SyntheticSiteSpec, outDir: string): Promise<SyntheticSite> {
  const size = spec.size ?? 128;
  const k = size / 128;
  const [minSlices, maxSlices] = spec.slicesPerStudy ?? [2, 4];
  const [minR, maxR] = spec.noduleRadiusPx ?? [3, 8];
  const fmt = pixelFormat(spec.signedPixels ?? false, spec.bitsStored);
  const root = new Rng(spec.seed);
  const siteRng = root.fork('site');
  const identity = siteIdentity(siteRng, spec.institution, spec.manufacturer, spec.scannerModel);
  const fovMm = siteRng.range(340, 400);
  const pixelSpacing = fovMm / size;
  const sliceThickness = siteRng.pick([1.25, 2.5, 5]);
  const kvp = siteRng.pick([100, 110, 120]);
  const window = siteRng.pick(DISPLAY_WINDOWS);

  // Exactly round(prevalence × n) positives, shuffled, so small demo sites still have both classes.
  const nPos = Math.min(spec.studies, Math.max(0, Math.round(spec.prevalence * spec.studies)));
  const labels = root
    .fork('labels')
    .shuffle(Array.from({ length: spec.studies }, (_, i): 0 | 1 => (i < nPos ? 1 : 0)));
  const unlabeledCount = Math.min(spec.studies, spec.unlabeledStudies ?? 1);
  const unlabeled = new Set(
    root
      .fork('unlabeled')
      .shuffle(Array.from({ length: spec.studies }, (_, i) => i))
      .slice(0, unlabeledCount),
  );

  const dicomDir = path.join(outDir, 'dicom');
  const phiSeen = new Map<string, string>();
  const studies: SyntheticStudy[] = [];

  for (let s = 0; s < spec.studies; s++) {
    const rng = root.fork(`study-${s}`);
    const label = labels[s]!;
    const slices = rng.int(minSlices, maxSlices);
    const anatomy = makeAnatomy(rng, size);
    const plan: StudyPlan = { index: s, label, slices, anatomy };
    if (label === 1) {
      const radius = rng.range(minR, maxR) * k;
      const hu = rng.range(spec.nodule.minHu, spec.nodule.maxHu);
      plan.nodule = placeNodule(rng, anatomy, radius, hu, slices, sliceThickness / pixelSpacing);
    }
    const phi = applyOverrides(studyPhi(rng, identity), spec.phi, s);
    const patientDir = path.join(dicomDir, `P${pad(s + 1, 4)}`, 'ST01', 'SE01');
    await mkdir(patientDir, { recursive: true });

    const files: string[] = [];
    const noduleSlices: number[] = [];
    const sopUids: string[] = [];
    const z0 = rng.range(-220, -120);
    const writes: Promise<void>[] = [];
    for (let i = 0; i < slices; i++) {
      const hu = renderSlice(rng, anatomy, {
        slice: i,
        lungScale: 1 + 0.04 * (i - (slices - 1) / 2) + rng.range(-0.02, 0.02),
        noiseHu: spec.noiseHu,
        vessels: { perLung: [3, 9], largeProbability: spec.largeVesselProbability ?? 0.12 },
        ...(plan.nodule ? { nodule: plan.nodule } : {}),
      });
      if (plan.nodule && sliceShowsNodule(plan.nodule, i, k)) noduleSlices.push(i);
      const sopInstanceUid = uid(rng);
      sopUids.push(sopInstanceUid);
      const dataset = imageDataset({
        sopClassUid: SOP_CLASS.ctImage,
        sopInstanceUid,
        modality: 'CT',
        bodyPart: 'CHEST',
        phi,
        manufacturer: spec.manufacturer,
        scannerModel: spec.scannerModel,
        seriesNumber: 2,
        instanceNumber: i + 1,
        size,
        pixelSpacing,
        sliceThickness,
        sliceLocation: z0 + i * sliceThickness,
        kvp,
        window,
        fmt,
        pixels: encodePixels(hu, fmt),
        seriesDescription: 'AXIAL LUNG',
      });
      const file = path.join(patientDir, `IM${pad(i + 1, 4)}.dcm`);
      files.push(file);
      writes.push(writeFile(file, encodePart10(dataset)));
    }
    await Promise.all(writes);
    collectPhi(phiSeen, phi, sopUids);
    const n = plan.nodule;
    studies.push({
      studyInstanceUid: phi.StudyInstanceUID,
      label,
      files,
      labeled: !unlabeled.has(s),
      noduleSlices,
      ...(n
        ? {
            nodule: {
              x: n.x,
              y: n.y,
              radius: n.radius,
              hu: n.hu,
              centreSlice: n.centreSlice,
              juxtapleural: n.juxtapleural,
            },
          }
        : {}),
    });
  }

  const labelsPath = path.join(outDir, 'labels.csv');
  const rows = root
    .fork('label-order')
    .shuffle(studies.filter((st) => st.labeled))
    .map((st) => `${st.studyInstanceUid},${st.label},${st.label === 1 ? 'nodule confirmed' : 'no nodule'}`);
  await writeFile(labelsPath, `StudyInstanceUID,label,comment\n${rows.join('\n')}\n`);

  return {
    dicomDir,
    labelsPath,
    studies,
    phiValues: [...phiSeen.keys()],
    phi: [...phiSeen].map(([value, tag]) => ({ tag, value })),
  };
}

/** A slice "shows" the nodule when its cross-section is at least a pixel in radius (at 128 px). */
function sliceShowsNodule(n: Nodule, slice: number, k: number): boolean {
  const dz = (slice - n.centreSlice) * n.sliceSpacingPx;
  return n.radius * n.radius - dz * dz >= k * k;
}

// ---------------------------------------------------------------------------------------------------------
// Robustness inputs

export interface BadInput {
  file: string;
  expectedReason: ExclusionReason;
  /** PHI strings this file carries (the text and PNG-like files carry them too, as plain bytes). */
  phiValues: string[];
}

export interface BadInputOptions {
  /** Same contract as SyntheticSiteSpec.phi; the study index is the position in the returned list. */
  phi?: (tag: string, studyIndex: number) => string | undefined;
  size?: number;
}

function headPhantom(rng: Rng, size: number, noiseHu: number): Float32Array {
  const img = new Float32Array(size * size).fill(HU.air);
  const c = size / 2;
  const a = size * 0.36;
  const b = size * 0.44;
  const skull = 0.04 * size;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const dx = (x + 0.5 - c) / a;
      const dy = (y + 0.5 - c) / b;
      const r = dx * dx + dy * dy;
      const dxi = (x + 0.5 - c) / (a - skull);
      const dyi = (y + 0.5 - c) / (b - skull);
      const ri = dxi * dxi + dyi * dyi;
      const v = r > 1 ? HU.air : ri > 1 ? 1200 : 35;
      img[y * size + x] = v + rng.normal(0, noiseHu);
    }
  }
  return img;
}

/**
 * Writes the robustness cases into `dir` (flat), one per expected exclusion reason listed in
 * schemas/exclusion-reasons.ts. Every DICOM among them carries PHI like the site files.
 */
export async function writeBadInputs(
  dir: string,
  seed: number,
  opts: BadInputOptions = {},
): Promise<BadInput[]> {
  await mkdir(dir, { recursive: true });
  const size = opts.size ?? 128;
  const root = new Rng(seed);
  const identity = siteIdentity(root.fork('site'), 'St. Elsewhere General Hospital', 'ACME', 'Scanner 64');
  const fmt = pixelFormat(false);
  const out: BadInput[] = [];
  let index = 0;

  const nextPhi = () => {
    const i = index++;
    return applyOverrides(studyPhi(root.fork(`study-${i}`), identity), opts.phi, i);
  };
  const phiList = (phi: PhiValues, sop?: string) => {
    const m = new Map<string, string>();
    collectPhi(m, phi, sop ? [sop] : []);
    return [...m.keys()];
  };
  const ctParams = (rng: Rng, phi: PhiValues, pixels: Uint16Array | Int16Array | undefined): ImageParams => ({
    sopClassUid: SOP_CLASS.ctImage,
    sopInstanceUid: uid(rng),
    modality: 'CT',
    bodyPart: 'CHEST',
    phi,
    manufacturer: identity.manufacturer,
    scannerModel: identity.scannerModel,
    seriesNumber: 2,
    instanceNumber: 1,
    size,
    pixelSpacing: 0.7 * (512 / size),
    sliceThickness: 2.5,
    sliceLocation: -150,
    kvp: 120,
    window: { center: [-600], width: [1500] },
    fmt,
    ...(pixels ? { pixels } : {}),
    seriesDescription: 'AXIAL LUNG',
  });
  const chestPixels = (rng: Rng) =>
    encodePixels(renderSlice(rng, makeAnatomy(rng, size), { slice: 0, lungScale: 1, noiseHu: 15 }), fmt);
  const emit = async (
    name: string,
    bytes: Uint8Array | string,
    expectedReason: ExclusionReason,
    phiValues: string[],
  ) => {
    const file = path.join(dir, name);
    await writeFile(file, bytes);
    out.push({ file, expectedReason, phiValues });
  };

  {
    // A clinician's note dropped into the DICOM folder: text, no preamble, full of PHI.
    const phi = nextPhi();
    const text =
      `Patient: ${phi.PatientName}\nMRN: ${phi.PatientID}\nDOB: ${phi.PatientBirthDate}\n` +
      `Accession: ${phi.AccessionNumber}\nReferred by ${phi.ReferringPhysicianName} for ${phi.StudyDescription}.\n`;
    await emit(
      'README_scan_notes.txt',
      text,
      'not-dicom',
      [phi.PatientName, phi.PatientID, phi.PatientBirthDate, phi.AccessionNumber].filter((v) => v !== ''),
    );
  }
  {
    // A screenshot: PNG signature and IHDR, then noise; the patient name sits in a tEXt chunk.
    const rng = root.fork('png');
    const phi = nextPhi();
    const body = new Uint8Array(4096);
    for (let i = 0; i < body.length; i++) body[i] = rng.int(0, 255);
    const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
    const ihdr = [
      0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 0, 0, 2, 0, 0, 0, 2, 0, 8, 0, 0, 0, 0, 0x3a, 0x7e, 0x9b, 0x55,
    ];
    const text = new TextEncoder().encode(`tEXtComment\0${phi.PatientName} ${phi.PatientID}`);
    const bytes = new Uint8Array(sig.length + ihdr.length + 4 + text.length + body.length);
    bytes.set(sig, 0);
    bytes.set(ihdr, sig.length);
    new DataView(bytes.buffer).setUint32(sig.length + ihdr.length, text.length - 4);
    bytes.set(text, sig.length + ihdr.length + 4);
    bytes.set(body, sig.length + ihdr.length + 4 + text.length);
    await emit('screenshot.png', bytes, 'not-dicom', [phi.PatientName, phi.PatientID]);
  }
  {
    const rng = root.fork('truncated');
    const phi = nextPhi();
    const params = ctParams(rng, phi, chestPixels(rng));
    const full = encodePart10(imageDataset(params));
    const pixelBytes = size * size * 2;
    // Keep the header and half of the pixel data: the stream ends inside the Pixel Data element.
    await emit(
      'IM_truncated.dcm',
      full.slice(0, full.length - Math.floor(pixelBytes / 2)),
      'truncated',
      phiList(phi, params.sopInstanceUid),
    );
  }
  {
    const rng = root.fork('no-pixels');
    const phi = nextPhi();
    const params = ctParams(rng, phi, undefined);
    await emit(
      'IM_nopixels.dcm',
      encodePart10(imageDataset(params)),
      'no-pixel-data',
      phiList(phi, params.sopInstanceUid),
    );
  }
  {
    const rng = root.fork('j2k');
    const phi = nextPhi();
    const params = ctParams(rng, phi, undefined);
    const dataset = imageDataset(params);
    // Junk under a video syntax the agent does not decode, in two fragments: the decoder must never be reached.
    const frag = (n: number) => {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = rng.int(0, 255);
      return b.buffer;
    };
    dataset['7FE00010'] = { vr: 'OB', Value: [frag(1500), frag(900)] };
    await emit(
      'IM_video.dcm',
      encodePart10(dataset, TRANSFER_SYNTAX.mpeg4),
      'unsupported-transfer-syntax',
      phiList(phi, params.sopInstanceUid),
    );
  }
  {
    const rng = root.fork('mr');
    const phi = nextPhi();
    const params = ctParams(rng, phi, undefined);
    const mrFmt = pixelFormat(false, 12);
    const img = renderSlice(rng, makeAnatomy(rng, size), { slice: 0, lungScale: 1, noiseHu: 0 });
    // MR intensities have no HU meaning; any positive mapping will do.
    for (let i = 0; i < img.length; i++) img[i] = (img[i]! + 1000) * 0.8 + rng.normal(0, 10) - 1024;
    const mr: ImageParams = {
      ...params,
      sopClassUid: SOP_CLASS.mrImage,
      modality: 'MR',
      pixels: encodePixels(img, mrFmt),
      fmt: { ...mrFmt, intercept: 0 },
      seriesDescription: 'T1 AX CHEST',
    };
    // Stored values were produced with intercept −1024; with intercept 0 they are plain MR signal.
    await emit(
      'IM_mr.dcm',
      encodePart10(imageDataset(mr)),
      'modality-mismatch',
      phiList(phi, params.sopInstanceUid),
    );
  }
  {
    const rng = root.fork('head');
    const phi = nextPhi();
    const params = ctParams(rng, phi, encodePixels(headPhantom(rng, size, 5), fmt));
    const head: ImageParams = {
      ...params,
      bodyPart: 'HEAD',
      phi: { ...phi, StudyDescription: 'CT HEAD W/O CONTRAST' },
      window: { center: [40], width: [80] },
      seriesDescription: 'AXIAL BRAIN',
    };
    await emit(
      'IM_head.dcm',
      encodePart10(imageDataset(head)),
      'body-part-mismatch',
      phiList(head.phi, params.sopInstanceUid),
    );
  }
  return out;
}
