import type { Rng } from './rng.ts';

/**
 * Plausible PHI for synthetic studies: a site's identity (institution, staff, station) and each study's
 * patient, dates, identifiers and UIDs, with the caller's overrides (canary tests plant their own values).
 */

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

export function pad(n: number, width: number): string {
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

export interface SiteIdentity {
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

export function siteIdentity(
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

export type PhiValues = Record<PhiTag, string>;

export function studyPhi(rng: Rng, site: SiteIdentity): PhiValues {
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

/**
 * Overrides any PHI value: called with a PHI_TAGS name and the study index; a string returned is used instead
 * of the generated value.
 */
export type PhiOverride = (tag: string, studyIndex: number) => string | undefined;

export function applyOverrides(
  values: PhiValues,
  override: PhiOverride | undefined,
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

export function collectPhi(
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
