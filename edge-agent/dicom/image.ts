import type { IMAGE_EXCLUSION_REASONS } from '../../schemas/exclusion-reasons.ts';
import type { PixelCodec } from './syntax.ts';

/** What parsing one file gives: the image (header fields and a view of its pixels), or one closed reason. */

export type ImageExclusionReason = (typeof IMAGE_EXCLUSION_REASONS)[number];

/** Rescale for one frame, from the Pixel Value Transformation Sequence of an enhanced multi-frame object. */
export interface FrameRescale {
  slope: number;
  intercept: number;
}

export interface DicomImage {
  sopInstanceUid: string;
  studyInstanceUid: string;
  /** Empty when the file has none; selection does not need it yet. */
  seriesInstanceUid: string;
  /** Upper-cased, trimmed; empty when absent (selection then rejects it). */
  modality: string;
  bodyPart?: string;
  manufacturer?: string;
  /** Manufacturer's Model Name (0008,1090). */
  scannerModel?: string;
  /** Image Type (0008,0008) values, upper-cased; empty when absent. */
  imageType: string[];
  /** View Position (0018,5101), upper-cased, e.g. PA, AP, LL. */
  viewPosition?: string;
  /** Patient Sex (0010,0040) when it is one of F, M, O. Leaves the site only as gated subgroup counts. */
  sex?: 'F' | 'M' | 'O';
  /** Age at the study in whole years (Patient Age, else Birth Date vs Study Date); never logged. */
  ageYears?: number;
  rows: number;
  columns: number;
  frames: number;
  samplesPerPixel: number;
  /** 0 = colour-by-pixel (RGBRGB…), 1 = colour-by-plane (RR…GG…BB…). */
  planarConfiguration: 0 | 1;
  photometric: string;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  pixelRepresentation: 0 | 1;
  rescaleSlope: number;
  rescaleIntercept: number;
  /** Per-frame rescale (functional groups), one entry per frame, when the object carries it. */
  frameRescale?: FrameRescale[];
  /** Pixel Padding Value (0028,0120) and Range Limit (0028,0121), as stored (signed when pixels are). */
  pixelPadding?: { value: number; limit?: number };
  transferSyntaxUid: string;
  /** The codec for encapsulated pixel data; undefined for native. */
  codec?: PixelCodec;
  /** Encapsulated only: each frame's compressed bitstream, as views of its fragments (in order). */
  frameFragments?: Uint8Array[][];
  littleEndian: boolean;
  /** View into the file's (or, for deflate, the inflated) buffer — never a copy. */
  pixelData: Uint8Array;
  /**
   * Set by parseDicomHeader on a deflated file: only the header was inflated and `pixelData` is empty —
   * parseDicom on the same bytes gives the full image (so a duplicate is found without inflating it).
   */
  pixelsDeferred?: true;
  /** 'OB' | 'OW' when the file states it (explicit VR); needed for the big-endian byte order of 8-bit data. */
  pixelDataVr?: string;
  encapsulated: boolean;
}

export type ParseResult = { ok: true; image: DicomImage } | { ok: false; reason: ImageExclusionReason };
