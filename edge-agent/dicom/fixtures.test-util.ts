import { deflateRawSync } from 'node:zlib';
import dcmjs from 'dcmjs';

/**
 * Builds small DICOM files for tests with dcmjs (the decoder under test is dicom-parser, so the writer is an
 * independent implementation). Pixel values are given as the raw stored words — including any garbage above
 * BitsStored — and are laid out here in the file's byte order, by hand, so expectations never go through the
 * code under test.
 */

export const TS = {
  implicit: '1.2.840.10008.1.2',
  explicit: '1.2.840.10008.1.2.1',
  deflated: '1.2.840.10008.1.2.1.99',
  big: '1.2.840.10008.1.2.2',
  jpeg2000: '1.2.840.10008.1.2.4.90',
} as const;

export interface FixtureOptions {
  transferSyntax?: string;
  sopInstanceUid?: string;
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  modality?: string;
  bodyPart?: string;
  rows?: number;
  columns?: number;
  frames?: number;
  samplesPerPixel?: number;
  planarConfiguration?: 0 | 1;
  photometric?: string;
  bitsAllocated?: 8 | 16;
  bitsStored?: number;
  highBit?: number;
  pixelRepresentation?: 0 | 1;
  rescaleSlope?: number;
  rescaleIntercept?: number;
  /** Raw stored words in file order (samples interleaved or planar as planarConfiguration says). */
  words?: ArrayLike<number>;
  /** Pixel data VR; defaults to OB for 8-bit and OW for 16-bit. */
  pixelVr?: 'OB' | 'OW';
  /** Attribute keywords to leave out (e.g. 'PixelData', 'StudyInstanceUID'). */
  omit?: string[];
  /** More attributes, naturalised dcmjs style (keyword → value), written as given. */
  extra?: Record<string, unknown>;
}

let counter = 0;
/** A fresh, syntactically valid UID (root 2.25 = UUID-derived, fine for tests). */
export function uid(): string {
  counter++;
  return `2.25.${process.pid}${Date.now() % 1e9}${counter}`;
}

/** Words → bytes in the given byte order; 8-bit words in OW under big endian are swapped in pairs (PS3.5). */
export function packWords(
  words: ArrayLike<number>,
  bitsAllocated: 8 | 16,
  littleEndian: boolean,
  vr: 'OB' | 'OW',
): Uint8Array {
  if (bitsAllocated === 8) {
    const out = new Uint8Array(words.length + (words.length % 2));
    for (let i = 0; i < words.length; i++) {
      const at = !littleEndian && vr === 'OW' ? i ^ 1 : i;
      out[at] = words[i]! & 0xff;
    }
    return out;
  }
  const out = new Uint8Array(words.length * 2);
  for (let i = 0; i < words.length; i++) {
    const w = words[i]! & 0xffff;
    out[2 * i + (littleEndian ? 0 : 1)] = w & 0xff;
    out[2 * i + (littleEndian ? 1 : 0)] = w >> 8;
  }
  return out;
}

export function makeDicom(opts: FixtureOptions = {}): Uint8Array {
  const ts = opts.transferSyntax ?? TS.explicit;
  const rows = opts.rows ?? 4;
  const columns = opts.columns ?? 4;
  const frames = opts.frames ?? 1;
  const spp = opts.samplesPerPixel ?? 1;
  const bitsAllocated = opts.bitsAllocated ?? 16;
  const bitsStored = opts.bitsStored ?? bitsAllocated;
  const vr = opts.pixelVr ?? (bitsAllocated === 8 ? 'OB' : 'OW');
  const count = rows * columns * frames * spp;
  const words = opts.words ?? Array.from({ length: count }, (_, i) => i % 2 ** bitsStored);
  const littleEndian = ts !== TS.big;
  const pixelBytes = packWords(words, bitsAllocated, littleEndian, vr);

  const sop = opts.sopInstanceUid ?? uid();
  const dataset: Record<string, unknown> = {
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.2',
    SOPInstanceUID: sop,
    StudyInstanceUID: opts.studyInstanceUid ?? uid(),
    SeriesInstanceUID: opts.seriesInstanceUid ?? uid(),
    Modality: opts.modality ?? 'CT',
    PatientName: 'Test^Synthetic',
    Rows: rows,
    Columns: columns,
    SamplesPerPixel: spp,
    PhotometricInterpretation: opts.photometric ?? (spp === 3 ? 'RGB' : 'MONOCHROME2'),
    BitsAllocated: bitsAllocated,
    BitsStored: bitsStored,
    HighBit: opts.highBit ?? bitsStored - 1,
    PixelRepresentation: opts.pixelRepresentation ?? 0,
    PixelData: [
      pixelBytes.buffer.slice(pixelBytes.byteOffset, pixelBytes.byteOffset + pixelBytes.byteLength),
    ],
    _vrMap: { PixelData: vr },
  };
  if (opts.bodyPart !== undefined) dataset.BodyPartExamined = opts.bodyPart;
  if (frames > 1) dataset.NumberOfFrames = String(frames);
  if (spp > 1) dataset.PlanarConfiguration = opts.planarConfiguration ?? 0;
  if (opts.rescaleSlope !== undefined) dataset.RescaleSlope = String(opts.rescaleSlope);
  if (opts.rescaleIntercept !== undefined) dataset.RescaleIntercept = String(opts.rescaleIntercept);
  Object.assign(dataset, opts.extra ?? {});
  for (const key of opts.omit ?? []) delete dataset[key];

  const { DicomDict, DicomMetaDictionary } = dcmjs.data;
  const meta = (transferSyntax: string) => ({
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: dataset.SOPClassUID,
    MediaStorageSOPInstanceUID: sop,
    TransferSyntaxUID: transferSyntax,
    ImplementationClassUID: '2.25.1234567',
  });
  // dcmjs writes only native syntaxes: other syntaxes get an Explicit VR LE body under their own meta group,
  // and deflate compresses that body afterwards.
  const native = ts === TS.implicit || ts === TS.explicit || ts === TS.big;
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta(native ? ts : TS.explicit)));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  const written = new Uint8Array(dict.write());
  if (native) return written;

  const header = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta(ts)));
  header.dict = {};
  const head = new Uint8Array(header.write());
  const plainBody = written.subarray(metaEnd(written));
  const body = ts === TS.deflated ? new Uint8Array(deflateRawSync(plainBody)) : plainBody;
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

/** Offset just past the File Meta Information group, from its group length (0002,0000). */
export function metaEnd(bytes: Uint8Array): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint16(132, true) !== 0x0002 || view.getUint16(134, true) !== 0x0000) {
    throw new Error('fixture: expected (0002,0000) first in the meta group');
  }
  return 144 + view.getUint32(140, true);
}

/** Strips the 128-byte preamble, "DICM" and the meta group: a bare data set in the syntax it was written in. */
export function bareDataSet(bytes: Uint8Array): Uint8Array {
  return bytes.slice(metaEnd(bytes));
}
