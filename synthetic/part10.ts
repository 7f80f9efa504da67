import dcmjs from 'dcmjs';

/**
 * DICOM Part 10 encoding of the generator's data sets (dcmjs "denaturalized" form: tag → { vr, Value }),
 * and the UIDs and private block every file it writes shares.
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
export const PRIVATE_GROUP = '0009';

// A fixed implementation UID (not PHI): the same for every file this generator writes.
const IMPLEMENTATION_CLASS_UID = '2.25.183735937624128372346198736612990451207';
const IMPLEMENTATION_VERSION = 'CAIRN_SYNTH_1';

export interface Element {
  vr: string;
  Value?: unknown[];
}
export type Dataset = Record<string, Element>;

export const str = (vr: string, ...values: string[]): Element => ({ vr, Value: values });
export const num = (vr: string, ...values: number[]): Element => ({ vr, Value: values });
export const pn = (name: string): Element => ({ vr: 'PN', Value: [{ Alphabetic: name }] });

/** Decimal strings are limited to 16 characters; keep a few decimals so positions stay exact enough. */
export function ds(v: number): number {
  return Math.round(v * 1000) / 1000;
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
