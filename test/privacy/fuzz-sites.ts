import { join } from 'node:path';
import { AgentSettings } from '../../edge-agent/config.ts';
import { enrollAgent } from '../../edge-agent/enroll.ts';
import { writeReleasePolicy } from '../../edge-agent/review/policy.ts';
import { writeBadInputs } from '../../synthetic/bad-inputs.ts';
import { writeSyntheticSite } from '../../synthetic/dicom.ts';
import { Rng } from '../../synthetic/rng.ts';
import { sitePhi, TEXT_TAGS } from '../support/phi-canaries.ts';
import { addPhiColumns, FUZZ_SEED, MIN_CELL, SET_PLANS, SETS, STUDIES } from './fuzz-plan.ts';
import type { FuzzWorld, SiteRun } from './fuzz-world.ts';

const SCANNERS = [
  { manufacturer: 'SIEMENS', scannerModel: 'SOMATOM X', signedPixels: false },
  { manufacturer: 'GE MEDICAL SYSTEMS', scannerModel: 'Revolution', signedPixels: true },
];

/**
 * One hospital: its DICOM (with canaries in every PHI attribute and in its folder's name), its labels.csv with
 * PHI columns, odd files at site a, and an agent enrolled against the proxy.
 */
async function plantSite(
  w: FuzzWorld,
  set: number,
  letter: 'a' | 'b',
  rng: Rng,
  region: string,
): Promise<SiteRun> {
  const { factory } = w;
  const id = `fuzz-${set}${letter}`;
  const origin = `set ${set}, site ${id}`;
  await w.admin.json('POST', '/v1/sites', { json: { id, regionId: region, name: `Site ${set}${letter}` } });
  const pathCanary = factory.path(`${origin}: the DICOM folder's name`);
  const inputDir = join(w.root, 'hospitals', id, pathCanary);
  const before = new Set(factory.all.keys());
  const base = sitePhi(factory, origin);
  const planted = new Map<string, string>();
  const phi = (tag: string, study: number) => {
    const v = base(tag, study);
    if (v !== undefined) planted.set(`${tag}#${study}`, v);
    return v;
  };
  const site = await writeSyntheticSite(
    {
      siteId: id,
      seed: rng.int(1, 1_000_000),
      studies: STUDIES,
      prevalence: rng.range(0.3, 0.5),
      ...SCANNERS[letter === 'a' ? 0 : 1]!,
      institution: phi('InstitutionName', 0)!,
      noiseHu: rng.range(10, 20),
      nodule: { minHu: 25, maxHu: 60 },
      slicesPerStudy: [2, 3],
      phi,
    },
    inputDir,
  );
  addPhiColumns(site.labelsPath, site.studies, planted);
  const studyCanaries = [...factory.all.keys()].filter((v) => !before.has(v));
  for (const p of site.phi) factory.generated(p.value, p.tag, `${origin}, generated`);
  const oddBefore = new Set(factory.all.keys());
  if (letter === 'a') {
    const oddPhi = (tag: string, file: number) =>
      TEXT_TAGS[tag] ? factory.text(tag, `${origin}, odd file ${file}`) : undefined;
    const bad = await writeBadInputs(join(site.dicomDir, 'misc'), rng.int(1, 1_000_000), { phi: oddPhi });
    for (const b of bad) for (const v of b.phiValues) factory.generated(v, undefined, `${origin}, odd file`);
  }
  const oddFileCanaries = [...factory.all.values()]
    .filter((c) => !oddBefore.has(c.value) && c.kind === 'text')
    .map((c) => c.value);

  const plan = SET_PLANS[set]!;
  const stateDir = join(w.root, 'agents', id);
  const { token } = await w.coordinator.json<{ token: string }>('POST', `/v1/sites/${id}/enrollment-tokens`, {
    json: {},
  });
  await enrollAgent({
    stateDir,
    cloudUrl: w.proxy.url,
    token,
    settings: AgentSettings.parse({
      dicom: site.dicomDir,
      labels: site.labelsPath,
      threads: 1,
      minCell: MIN_CELL,
      releaseColumns: letter === 'b' && plan.allowPhi ? ['insurance', 'PatientName', 'MRN'] : ['insurance'],
      ...(plan.dp ? { dp: { epsilonPerReport: 1, budgetPerCampaign: 10 } } : {}),
    }),
  });
  const viaCli = set === SETS - 1 && letter === 'b';
  return {
    id,
    set,
    region,
    stateDir,
    inputDir,
    pathCanary,
    studyCanaries,
    oddFileCanaries,
    outcomes: [],
    viaCli,
    plan,
  };
}

/** Each set: two hospitals, a campaign of both model versions over them, and a release policy unless held. */
export async function plantSets(w: FuzzWorld): Promise<void> {
  for (let set = 0; set < SETS; set++) {
    const rng = new Rng(FUZZ_SEED).fork(`set-${set}`);
    const region = set % 2 === 0 ? 'north' : 'south';
    const setSites: SiteRun[] = [];
    for (const letter of ['a', 'b'] as const) setSites.push(await plantSite(w, set, letter, rng, region));
    const plan = SET_PLANS[set]!;
    const campaign = await w.coordinator.json<{ campaignId: string }>('POST', '/v1/campaigns', {
      json: {
        name: `privacy fuzz ${set}`,
        modelIds: w.modelIds,
        siteIds: setSites.map((s) => s.id),
        bins: 10,
        minCell: plan.k,
        subgroupAttributes: plan.columns,
      },
    });
    w.campaigns.push({ id: campaign.campaignId, set, sites: setSites.map((s) => s.id) });
    for (const s of setSites.filter((x) => !x.plan.held))
      writeReleasePolicy(s.stateDir, {
        schema: 'cairn.release-policy/v1',
        autoApprove: [{ campaign: campaign.campaignId, kind: 'evaluation', minCellAtLeast: MIN_CELL }],
      });
    w.sites.push(...setSites);
  }
}
