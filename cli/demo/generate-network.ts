import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeBadInputs } from '../../synthetic/bad-inputs.ts';
import { type SyntheticSite, type SyntheticSiteSpec, writeSyntheticSite } from '../../synthetic/dicom.ts';
import { buildNoduleDetectorOnnx, demoManifest } from '../../synthetic/model.ts';

type SiteSpec = Omit<SyntheticSiteSpec, 'siteId' | 'seed'> & {
  id: string;
  region: string;
  badInputs?: boolean;
};

/**
 * The demo network: 3 regions × 2 hospitals with different scanners, prevalence and image quality, and two
 * versions of one vendor's model. Sizes are chosen so the whole run takes a few minutes on 2 cores.
 */
const DEMO_SITES: SiteSpec[] = [
  {
    id: 'north-general',
    region: 'north',
    studies: 220,
    prevalence: 0.35,
    manufacturer: 'SIEMENS',
    scannerModel: 'SOMATOM Definition AS',
    institution: 'North General Hospital',
    noiseHu: 14,
    nodule: { minHu: 25, maxHu: 60 },
    badInputs: true,
  },
  {
    id: 'north-coastal',
    region: 'north',
    studies: 150,
    prevalence: 0.25,
    manufacturer: 'GE MEDICAL SYSTEMS',
    scannerModel: 'Revolution CT',
    institution: 'Coastal Community Hospital',
    noiseHu: 22,
    nodule: { minHu: 20, maxHu: 55 },
    signedPixels: true,
  },
  {
    id: 'central-university',
    region: 'central',
    studies: 260,
    prevalence: 0.4,
    manufacturer: 'Philips',
    scannerModel: 'IQon Spectral CT',
    institution: 'Central University Hospital',
    noiseHu: 10,
    nodule: { minHu: 25, maxHu: 60 },
  },
  {
    id: 'central-st-anne',
    region: 'central',
    studies: 160,
    prevalence: 0.3,
    manufacturer: 'SIEMENS',
    scannerModel: 'SOMATOM go.Up',
    institution: 'St Anne Hospital',
    noiseHu: 26,
    nodule: { minHu: 15, maxHu: 50 },
    signedPixels: true,
  },
  {
    id: 'south-regional',
    region: 'south',
    studies: 200,
    prevalence: 0.2,
    manufacturer: 'CANON_MEC',
    scannerModel: 'Aquilion ONE',
    institution: 'South Regional Medical Centre',
    noiseHu: 18,
    nodule: { minHu: 20, maxHu: 55 },
    badInputs: true,
  },
  {
    id: 'south-valley',
    region: 'south',
    studies: 150,
    prevalence: 0.3,
    manufacturer: 'GE MEDICAL SYSTEMS',
    scannerModel: 'Optima CT660',
    institution: 'Valley District Hospital',
    noiseHu: 30,
    nodule: { minHu: 15, maxHu: 45 },
  },
];

/**
 * The demo campaign's criteria: AUC and sensitivity per region, version 2 no worse than version 1, at least
 * two sites. On the demo's hospitals version 1's sensitivity CI straddles 0.65 in two regions (inconclusive)
 * and version 2 passes everywhere.
 */
export const DEMO_CRITERIA = {
  schema: 'cairn.criteria/v1',
  title:
    'Demo: AUC CI lower end 0.75 and sensitivity 0.65 in every region; v2 non-inferior to v1 (margin 0.05)',
  rules: [
    { metric: 'auc', scope: 'region', bound: 'ciLow', atLeast: 0.75 },
    { metric: 'sensitivity', scope: 'region', bound: 'ciLow', atLeast: 0.65 },
    { metric: 'auc', versus: 'lung-nodule-ct@1.0.0', margin: 0.05 },
    { scope: 'overall', minSites: 2 },
  ],
} as const;

/** Writes the demo's DICOM, labels, models and a scenario file into `dir`; returns the scenario's path. */
export async function generateDemoNetwork(
  dir: string,
  say: (l: string) => void,
  sites: SiteSpec[] = DEMO_SITES,
  /** Called with each generated site and every PHI value written into it (bad inputs included). */
  onSite?: (site: SyntheticSite, phiValues: string[]) => void,
): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const models = [1, 2].map((v) => {
    const version = v as 1 | 2;
    const base = join(dir, 'models', `lung-nodule-ct-v${version}`);
    mkdirSync(base, { recursive: true });
    writeFileSync(join(base, 'model.onnx'), buildNoduleDetectorOnnx(version));
    writeFileSync(join(base, 'manifest.json'), `${JSON.stringify(demoManifest(version), null, 2)}\n`);
    return {
      manifest: `models/lung-nodule-ct-v${version}/manifest.json`,
      onnx: `models/lung-nodule-ct-v${version}/model.onnx`,
    };
  });
  const regions = new Map<string, { id: string; dicom: string; labels: string }[]>();
  let seed = 1;
  for (const spec of sites) {
    const siteDir = join(dir, 'hospitals', spec.id);
    const { id, region, badInputs, ...rest } = spec;
    const site = await writeSyntheticSite({ ...rest, siteId: id, seed: seed++ * 7919 }, siteDir);
    const bad = badInputs
      ? await writeBadInputs(join(site.dicomDir, 'misc'), seed * 31, { phi: rest.phi })
      : [];
    onSite?.(site, [...site.phiValues, ...bad.flatMap((b) => b.phiValues)]);
    say(
      `  ${id}: ${site.studies.length} studies, ${site.studies.filter((s) => s.label === 1).length} with a nodule`,
    );
    const list = regions.get(region) ?? [];
    list.push({ id, dicom: `hospitals/${id}/dicom`, labels: `hospitals/${id}/labels.csv` });
    regions.set(region, list);
  }
  writeFileSync(join(dir, 'criteria.json'), `${JSON.stringify(DEMO_CRITERIA, null, 2)}\n`);
  const scenario = {
    bins: 20,
    minCell: 5,
    criteria: 'criteria.json',
    models,
    regions: [...regions].map(([id, s]) => ({ id, sites: s })),
  };
  const file = join(dir, 'scenario.json');
  writeFileSync(file, `${JSON.stringify(scenario, null, 2)}\n`);
  return file;
}
