import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ExclusionReason } from '../schemas/exclusion-reasons.ts';
import { type ImageParams, imageDataset } from './image-dataset.ts';
import { encodePart10, SOP_CLASS, TRANSFER_SYNTAX } from './part10.ts';
import { HU, makeAnatomy, renderSlice } from './phantom.ts';
import {
  applyOverrides,
  collectPhi,
  type PhiOverride,
  type PhiValues,
  type SiteIdentity,
  siteIdentity,
  studyPhi,
  uid,
} from './phi.ts';
import { encodePixels, type PixelFormat, pixelFormat } from './pixels.ts';
import { Rng } from './rng.ts';

/** The odd files a hospital's DICOM folder holds, one per exclusion reason the agent must count. */

export interface BadInput {
  file: string;
  expectedReason: ExclusionReason;
  /** PHI strings this file carries (the text and PNG-like files carry them too, as plain bytes). */
  phiValues: string[];
}

export interface BadInputOptions {
  /** Same contract as SyntheticSiteSpec.phi; the study index is the position in the returned list. */
  phi?: PhiOverride;
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

/** The folder being written and what its files share; each file takes the next study's PHI. */
class BadInputWriter {
  readonly out: BadInput[] = [];
  readonly root: Rng;
  readonly fmt: PixelFormat = pixelFormat(false);
  private readonly identity: SiteIdentity;
  private index = 0;

  constructor(
    private readonly dir: string,
    seed: number,
    readonly size: number,
    private readonly override: PhiOverride | undefined,
  ) {
    this.root = new Rng(seed);
    this.identity = siteIdentity(
      this.root.fork('site'),
      'St. Elsewhere General Hospital',
      'ACME',
      'Scanner 64',
    );
  }

  nextPhi(): PhiValues {
    const i = this.index++;
    return applyOverrides(studyPhi(this.root.fork(`study-${i}`), this.identity), this.override, i);
  }

  ctParams(rng: Rng, phi: PhiValues, pixels: Uint16Array | Int16Array | undefined): ImageParams {
    return {
      sopClassUid: SOP_CLASS.ctImage,
      sopInstanceUid: uid(rng),
      modality: 'CT',
      bodyPart: 'CHEST',
      phi,
      manufacturer: this.identity.manufacturer,
      scannerModel: this.identity.scannerModel,
      seriesNumber: 2,
      instanceNumber: 1,
      size: this.size,
      pixelSpacing: 0.7 * (512 / this.size),
      sliceThickness: 2.5,
      sliceLocation: -150,
      kvp: 120,
      window: { center: [-600], width: [1500] },
      fmt: this.fmt,
      ...(pixels ? { pixels } : {}),
      seriesDescription: 'AXIAL LUNG',
    };
  }

  chestPixels(rng: Rng): Uint16Array | Int16Array {
    const hu = renderSlice(rng, makeAnatomy(rng, this.size), { slice: 0, lungScale: 1, noiseHu: 15 });
    return encodePixels(hu, this.fmt);
  }

  async emit(name: string, bytes: Uint8Array | string, expectedReason: ExclusionReason, phiValues: string[]) {
    const file = path.join(this.dir, name);
    await writeFile(file, bytes);
    this.out.push({ file, expectedReason, phiValues });
  }

  /** A DICOM file's PHI as the site files report it (its SOP Instance UID included). */
  async emitDicom(
    name: string,
    bytes: Uint8Array,
    expectedReason: ExclusionReason,
    phi: PhiValues,
    sop: string,
  ) {
    const m = new Map<string, string>();
    collectPhi(m, phi, [sop]);
    await this.emit(name, bytes, expectedReason, [...m.keys()]);
  }
}

/** A clinician's note dropped into the DICOM folder: text, no preamble, full of PHI. */
async function writeNote(w: BadInputWriter): Promise<void> {
  const phi = w.nextPhi();
  const text =
    `Patient: ${phi.PatientName}\nMRN: ${phi.PatientID}\nDOB: ${phi.PatientBirthDate}\n` +
    `Accession: ${phi.AccessionNumber}\nReferred by ${phi.ReferringPhysicianName} for ${phi.StudyDescription}.\n`;
  const carried = [phi.PatientName, phi.PatientID, phi.PatientBirthDate, phi.AccessionNumber];
  await w.emit(
    'README_scan_notes.txt',
    text,
    'not-dicom',
    carried.filter((v) => v !== ''),
  );
}

/** A screenshot: PNG signature and IHDR, then noise; the patient name sits in a tEXt chunk. */
async function writeScreenshot(w: BadInputWriter): Promise<void> {
  const rng = w.root.fork('png');
  const phi = w.nextPhi();
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
  await w.emit('screenshot.png', bytes, 'not-dicom', [phi.PatientName, phi.PatientID]);
}

async function writeTruncated(w: BadInputWriter): Promise<void> {
  const rng = w.root.fork('truncated');
  const phi = w.nextPhi();
  const params = w.ctParams(rng, phi, w.chestPixels(rng));
  const full = encodePart10(imageDataset(params));
  const pixelBytes = w.size * w.size * 2;
  // Keep the header and half of the pixel data: the stream ends inside the Pixel Data element.
  const cut = full.slice(0, full.length - Math.floor(pixelBytes / 2));
  await w.emitDicom('IM_truncated.dcm', cut, 'truncated', phi, params.sopInstanceUid);
}

async function writeNoPixels(w: BadInputWriter): Promise<void> {
  const rng = w.root.fork('no-pixels');
  const phi = w.nextPhi();
  const params = w.ctParams(rng, phi, undefined);
  await w.emitDicom(
    'IM_nopixels.dcm',
    encodePart10(imageDataset(params)),
    'no-pixel-data',
    phi,
    params.sopInstanceUid,
  );
}

async function writeVideo(w: BadInputWriter): Promise<void> {
  const rng = w.root.fork('j2k');
  const phi = w.nextPhi();
  const params = w.ctParams(rng, phi, undefined);
  const dataset = imageDataset(params);
  // Junk under a video syntax the agent does not decode, in two fragments: the decoder must never be reached.
  const frag = (n: number) => {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = rng.int(0, 255);
    return b.buffer;
  };
  dataset['7FE00010'] = { vr: 'OB', Value: [frag(1500), frag(900)] };
  const bytes = encodePart10(dataset, TRANSFER_SYNTAX.mpeg4);
  await w.emitDicom('IM_video.dcm', bytes, 'unsupported-transfer-syntax', phi, params.sopInstanceUid);
}

async function writeMr(w: BadInputWriter): Promise<void> {
  const rng = w.root.fork('mr');
  const phi = w.nextPhi();
  const params = w.ctParams(rng, phi, undefined);
  const mrFmt = pixelFormat(false, 12);
  const img = renderSlice(rng, makeAnatomy(rng, w.size), { slice: 0, lungScale: 1, noiseHu: 0 });
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
  await w.emitDicom(
    'IM_mr.dcm',
    encodePart10(imageDataset(mr)),
    'modality-mismatch',
    phi,
    params.sopInstanceUid,
  );
}

async function writeHead(w: BadInputWriter): Promise<void> {
  const rng = w.root.fork('head');
  const phi = w.nextPhi();
  const params = w.ctParams(rng, phi, encodePixels(headPhantom(rng, w.size, 5), w.fmt));
  const head: ImageParams = {
    ...params,
    bodyPart: 'HEAD',
    phi: { ...phi, StudyDescription: 'CT HEAD W/O CONTRAST' },
    window: { center: [40], width: [80] },
    seriesDescription: 'AXIAL BRAIN',
  };
  const bytes = encodePart10(imageDataset(head));
  await w.emitDicom('IM_head.dcm', bytes, 'body-part-mismatch', head.phi, params.sopInstanceUid);
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
  const w = new BadInputWriter(dir, seed, opts.size ?? 128, opts.phi);
  for (const write of [
    writeNote,
    writeScreenshot,
    writeTruncated,
    writeNoPixels,
    writeVideo,
    writeMr,
    writeHead,
  ])
    await write(w);
  return w.out;
}
