import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { imageDataset } from './image-dataset.ts';
import { encodePart10, SOP_CLASS } from './part10.ts';
import { type ChestAnatomy, makeAnatomy, type Nodule, placeNodule, renderSlice } from './phantom.ts';
import {
  applyOverrides,
  collectPhi,
  type PhiOverride,
  type PhiValues,
  pad,
  type SiteIdentity,
  siteIdentity,
  studyPhi,
  uid,
} from './phi.ts';
import { encodePixels, type PixelFormat, pixelFormat } from './pixels.ts';
import { Rng } from './rng.ts';

/**
 * Synthetic chest CT sites written as real DICOM Part 10 files, with plausible PHI in every patient and study
 * attribute so that de-identification and "nothing leaves the site" checks have something to find.
 */

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
   * Override any PHI value (for canary tests); SOPInstanceUID is never overridden (it must be unique per
   * file).
   */
  phi?: PhiOverride;
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

/** What every study of a site shares: its scanner, its geometry and its random streams. */
interface SiteContext {
  spec: SyntheticSiteSpec;
  root: Rng;
  identity: SiteIdentity;
  size: number;
  /** Image size relative to 128 px. */
  k: number;
  fmt: PixelFormat;
  pixelSpacing: number;
  sliceThickness: number;
  kvp: number;
  window: { center: number[]; width: number[] };
  dicomDir: string;
}

function siteContext(spec: SyntheticSiteSpec, outDir: string): SiteContext {
  const size = spec.size ?? 128;
  const root = new Rng(spec.seed);
  const siteRng = root.fork('site');
  const identity = siteIdentity(siteRng, spec.institution, spec.manufacturer, spec.scannerModel);
  const fovMm = siteRng.range(340, 400);
  return {
    spec,
    root,
    identity,
    size,
    k: size / 128,
    fmt: pixelFormat(spec.signedPixels ?? false, spec.bitsStored),
    pixelSpacing: fovMm / size,
    sliceThickness: siteRng.pick([1.25, 2.5, 5]),
    kvp: siteRng.pick([100, 110, 120]),
    window: siteRng.pick(DISPLAY_WINDOWS),
    dicomDir: path.join(outDir, 'dicom'),
  };
}

/** Which studies are positive and which are left out of labels.csv. */
function labelPlan(spec: SyntheticSiteSpec, root: Rng): { labels: (0 | 1)[]; unlabeled: Set<number> } {
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
  return { labels, unlabeled };
}

function planStudy(c: SiteContext, rng: Rng, index: number, label: 0 | 1): StudyPlan {
  const [minSlices, maxSlices] = c.spec.slicesPerStudy ?? [2, 4];
  const [minR, maxR] = c.spec.noduleRadiusPx ?? [3, 8];
  const slices = rng.int(minSlices, maxSlices);
  const anatomy = makeAnatomy(rng, c.size);
  const plan: StudyPlan = { index, label, slices, anatomy };
  if (label === 1) {
    const radius = rng.range(minR, maxR) * c.k;
    const hu = rng.range(c.spec.nodule.minHu, c.spec.nodule.maxHu);
    plan.nodule = placeNodule(rng, anatomy, radius, hu, slices, c.sliceThickness / c.pixelSpacing);
  }
  return plan;
}

/** Renders and writes one study's slices; returns the files, the slices that show the nodule and their UIDs. */
async function writeSlices(c: SiteContext, rng: Rng, plan: StudyPlan, phi: PhiValues, dir: string) {
  const files: string[] = [];
  const noduleSlices: number[] = [];
  const sopUids: string[] = [];
  const z0 = rng.range(-220, -120);
  const writes: Promise<void>[] = [];
  for (let i = 0; i < plan.slices; i++) {
    const hu = renderSlice(rng, plan.anatomy, {
      slice: i,
      lungScale: 1 + 0.04 * (i - (plan.slices - 1) / 2) + rng.range(-0.02, 0.02),
      noiseHu: c.spec.noiseHu,
      vessels: { perLung: [3, 9], largeProbability: c.spec.largeVesselProbability ?? 0.12 },
      ...(plan.nodule ? { nodule: plan.nodule } : {}),
    });
    if (plan.nodule && sliceShowsNodule(plan.nodule, i, c.k)) noduleSlices.push(i);
    const sopInstanceUid = uid(rng);
    sopUids.push(sopInstanceUid);
    const dataset = imageDataset({
      sopClassUid: SOP_CLASS.ctImage,
      sopInstanceUid,
      modality: 'CT',
      bodyPart: 'CHEST',
      phi,
      manufacturer: c.spec.manufacturer,
      scannerModel: c.spec.scannerModel,
      seriesNumber: 2,
      instanceNumber: i + 1,
      size: c.size,
      pixelSpacing: c.pixelSpacing,
      sliceThickness: c.sliceThickness,
      sliceLocation: z0 + i * c.sliceThickness,
      kvp: c.kvp,
      window: c.window,
      fmt: c.fmt,
      pixels: encodePixels(hu, c.fmt),
      seriesDescription: 'AXIAL LUNG',
    });
    const file = path.join(dir, `IM${pad(i + 1, 4)}.dcm`);
    files.push(file);
    writes.push(writeFile(file, encodePart10(dataset)));
  }
  await Promise.all(writes);
  return { files, noduleSlices, sopUids };
}

async function writeStudy(
  c: SiteContext,
  s: number,
  label: 0 | 1,
  labeled: boolean,
  phiSeen: Map<string, string>,
): Promise<SyntheticStudy> {
  const rng = c.root.fork(`study-${s}`);
  const plan = planStudy(c, rng, s, label);
  const phi = applyOverrides(studyPhi(rng, c.identity), c.spec.phi, s);
  const patientDir = path.join(c.dicomDir, `P${pad(s + 1, 4)}`, 'ST01', 'SE01');
  await mkdir(patientDir, { recursive: true });
  const { files, noduleSlices, sopUids } = await writeSlices(c, rng, plan, phi, patientDir);
  collectPhi(phiSeen, phi, sopUids);
  const n = plan.nodule;
  return {
    studyInstanceUid: phi.StudyInstanceUID,
    label,
    files,
    labeled,
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
  };
}

export async function writeSyntheticSite(spec: SyntheticSiteSpec, outDir: string): Promise<SyntheticSite> {
  const c = siteContext(spec, outDir);
  const { labels, unlabeled } = labelPlan(spec, c.root);
  const phiSeen = new Map<string, string>();
  const studies: SyntheticStudy[] = [];
  for (let s = 0; s < spec.studies; s++)
    studies.push(await writeStudy(c, s, labels[s]!, !unlabeled.has(s), phiSeen));

  const labelsPath = path.join(outDir, 'labels.csv');
  const rows = c.root
    .fork('label-order')
    .shuffle(studies.filter((st) => st.labeled))
    .map((st) => `${st.studyInstanceUid},${st.label},${st.label === 1 ? 'nodule confirmed' : 'no nodule'}`);
  await writeFile(labelsPath, `StudyInstanceUID,label,comment\n${rows.join('\n')}\n`);

  return {
    dicomDir: c.dicomDir,
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
