import type { Rng } from '../../synthetic/rng.ts';

/**
 * PHI canaries: unique, randomly shaped values planted in every free-text PHI attribute a hospital's DICOM can
 * carry (and in the name of the folder the agent reads), so a search of every byte that left the hospital can
 * tell a leak from chance. Dates and UIDs keep the generator's valid values and are registered afterwards.
 */

export type CanaryKind = 'text' | 'path' | 'uid' | 'date' | 'generated';

export interface Canary {
  value: string;
  /** 10 random characters [A-Z2-9] inside every text canary: found case-insensitively in any transform. */
  core: string | null;
  kind: CanaryKind;
  tag: string;
  /** Which set, site, study or odd file it was written to. */
  origin: string;
}

export type Vr = 'PN' | 'LO' | 'SH' | 'ST';
/** The free-text PHI attributes, by VR (the generator writes each with this VR). */
export const TEXT_TAGS: Record<string, Vr> = {
  PatientName: 'PN',
  ReferringPhysicianName: 'PN',
  PerformingPhysicianName: 'PN',
  OperatorsName: 'PN',
  PatientID: 'LO',
  OtherPatientIDs: 'LO',
  StudyDescription: 'LO',
  InstitutionName: 'LO',
  DeviceSerialNumber: 'LO',
  PrivatePatientString: 'LO',
  AccessionNumber: 'SH',
  StudyID: 'SH',
  StationName: 'SH',
  InstitutionAddress: 'ST',
};
/** Attributes that keep the generator's valid values (dates, times, age, sex, UIDs): collected afterwards. */
export const GENERATED_TAGS = new Set([
  'PatientBirthDate',
  'PatientSex',
  'PatientAge',
  'StudyDate',
  'SeriesDate',
  'AcquisitionDate',
  'ContentDate',
  'StudyTime',
  'SeriesTime',
  'AcquisitionTime',
  'ContentTime',
  'StudyInstanceUID',
  'SeriesInstanceUID',
  'FrameOfReferenceUID',
]);
const MAX_CHARS: Record<Vr, number> = { PN: 64, LO: 64, SH: 16, ST: 1024 };
/** One value per site, as in a real hospital (so a leak through a gated aggregate would pass k). */
const SITE_LEVEL = new Set(['InstitutionName', 'InstitutionAddress', 'StationName', 'DeviceSerialNumber']);
/** A few staff or descriptions per site, each shared by several studies. */
const POOLED: Record<string, number> = {
  ReferringPhysicianName: 3,
  PerformingPhysicianName: 3,
  OperatorsName: 3,
  StudyDescription: 2,
};

const WORDS = [
  'Müller',
  'Gößmann',
  'Núñez',
  'Çelik',
  'Ødegård',
  'Brontë',
  'Zoë',
  'Ångström',
  'Françoise',
  'Dvořák',
  'Łukasz',
  'Þórdís',
];
type Shape = (core: string, w: string, rng: Rng) => string;
const SHAPES: Record<Vr, Shape[]> = {
  // No backslash (the value delimiter) in PN, LO and SH; '^' and '=' are PN's own separators.
  PN: [
    (c, w) => `${c}^${w}`,
    (c, w) => `${w}-${c}^Jean-Luc^^Dr.`,
    (c) => `O'${c}^"Bobby"`,
    (c, w) => `${w} ${c}^Anne Marie^</script>`,
    (c) => c,
    (c, w) => `${w}^${c}=ヤマダ^タロウ`,
  ],
  LO: [
    (c) => c,
    (c, w) => `${w} ${c}`,
    (c) => `'; DROP TABLE reports;-- ${c}`,
    (c, w) => `{"mrn":"${c}","n":"${w}"}`,
    (c) => `</script><script>alert('${c}')`,
    (c, w) => `${c} "quoted" ${w} & <b>`,
    (c, w) => `%27${c}%22 \`${w}\``,
  ],
  SH: [
    (c) => c,
    (c) => `'${c}"`,
    (c) => `ü${c}ß`,
    (c) => `<${c}>`,
    (c) => `${c}';--`,
    (c) => `Ø${c}^`,
    (c) => `${c} ñ`,
  ],
  // ST is single-valued: a backslash is an ordinary character there, and so are CR and LF.
  ST: [
    (c, w, r) => `${r.int(1, 999)} ${w}straße \\ ${c}, "Bau C" 'Süd'\\ </script> ${r.int(10000, 99999)} Köln`,
    (c, w) => `C:\\Users\\${c}\\Desktop; {"addr":"${w}"}`,
    (c) => `${c}\r\nSecond line; \u00a0 tab\there`,
    (c) => c,
  ],
};
const CORE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

export class CanaryFactory {
  readonly all = new Map<string, Canary>();
  private readonly cores = new Set<string>();
  private numberedCount = 0;
  constructor(private readonly rng: Rng) {}

  private core(): string {
    for (;;) {
      let c = CORE_ALPHABET.charAt(this.rng.int(0, 23)); // a letter first
      for (let i = 1; i < 10; i++) c += CORE_ALPHABET.charAt(this.rng.int(0, CORE_ALPHABET.length - 1));
      if (!this.cores.has(c)) {
        this.cores.add(c);
        return c;
      }
    }
  }

  text(tag: string, origin: string): string {
    const vr = TEXT_TAGS[tag];
    if (!vr) throw new Error(`no VR for ${tag}`);
    const core = this.core();
    const value = this.rng.pick(SHAPES[vr])(core, this.rng.pick(WORDS), this.rng);
    if ([...value].length > MAX_CHARS[vr]) throw new Error(`canary for ${tag} is longer than ${vr} allows`);
    this.register({ value, core, kind: 'text', tag, origin });
    return value;
  }

  path(origin: string): string {
    const core = this.core();
    const value = `${this.rng.pick(WORDS)}^Hans ${core} (MRN '${this.rng.int(100000, 999999)}')`;
    this.register({ value, core, kind: 'path', tag: 'folder name', origin });
    return value;
  }

  /**
   * A short canary numbered in order (it fits SH's 16 characters whatever the tag), for suites that plant
   * many values and need no random shapes or core.
   */
  numbered(tag: string, origin: string): string {
    const n = (this.numberedCount++).toString(36).toUpperCase().padStart(6, '0');
    const value = `ZQ${n}${tag.slice(0, 4).toUpperCase()}QZ`;
    this.register({ value, core: null, kind: 'text', tag, origin });
    return value;
  }

  register(c: Canary): void {
    if (!this.all.has(c.value)) this.all.set(c.value, c);
  }

  /** A generated value the generator reports having written (dates, UIDs); 8 characters and more. */
  generated(value: string, tag: string | undefined, origin: string): void {
    if (value.length < 8 || this.all.has(value)) return;
    const kind: CanaryKind = /^\d{8}$/.test(value)
      ? 'date'
      : /^\d+(\.\d+)+$/.test(value)
        ? 'uid'
        : 'generated';
    this.register({ value, core: null, kind, tag: tag ?? kind, origin });
  }
}

/**
 * The phi override for one site: patient-level attributes unique per study, institution and station one per
 * site, staff and descriptions from small per-site pools.
 */
export function sitePhi(
  factory: CanaryFactory,
  origin: string,
): (tag: string, study: number) => string | undefined {
  const memo = new Map<string, string>();
  return (tag, study) => {
    if (!TEXT_TAGS[tag]) return undefined;
    if (SITE_LEVEL.has(tag)) {
      const key = tag;
      if (!memo.has(key)) memo.set(key, factory.text(tag, `${origin}, every study`));
      return memo.get(key);
    }
    const pool = POOLED[tag];
    if (pool) {
      const key = `${tag}#${study % pool}`;
      if (!memo.has(key))
        memo.set(key, factory.text(tag, `${origin}, studies ≡ ${study % pool} mod ${pool}`));
      return memo.get(key);
    }
    return factory.text(tag, `${origin}, study ${study}`);
  };
}
