import { describe, expect, it } from 'vitest';
import { drainReportBatch } from '../ingest/embedded.ts';
import {
  call,
  fakeOnnx,
  modelUploadForm,
  openTestCloud,
  seedNetwork,
  signEnvelope,
  siteReport,
  type TestCloud,
  testManifest,
} from '../test-fixtures.ts';

/** The cross-organisation suite's network (cross-org.test.ts), its secrets per organisation, and its runner. */

export interface CrossOrgWorld {
  cloud: TestCloud;
  net: Awaited<ReturnType<typeof seedNetwork>>;
  southToken: string;
  acmeOnly: { modelId: string; campaignId: string };
  southOnlyCampaign: string;
  reportA: string;
  reportC: string;
}

/** Filled by seedCrossOrg (in a beforeAll); the cases read it only when they run. */
export const w = {} as CrossOrgWorld;

export async function seedCrossOrg(): Promise<CrossOrgWorld> {
  const cloud = await openTestCloud();
  const net = await seedNetwork(cloud);
  const admin = cloud.adminToken;
  const southToken = (
    await call(cloud, 'POST', '/v1/tokens', {
      token: admin,
      json: { role: 'coordinator', regionIds: ['south'], label: 'south' },
    })
  ).body.token;
  // A model only acme and site-a ever see, in a campaign of its own.
  const model = await call(cloud, 'POST', '/v1/models', {
    token: net.acmeToken,
    body: modelUploadForm(testManifest({ version: '5.0.0' }), fakeOnnx('acme only')),
  });
  const campaign = await call(cloud, 'POST', '/v1/campaigns', {
    token: admin,
    json: { name: 'acme at site-a', modelIds: [model.body.modelId], siteIds: ['site-a'] },
  });
  const acmeOnly = { modelId: model.body.modelId, campaignId: campaign.body.campaignId };
  const southOnlyCampaign = (
    await call(cloud, 'POST', '/v1/campaigns', {
      token: admin,
      json: { name: 'south only', modelIds: [net.globexModel.modelId], siteIds: ['site-c'] },
    })
  ).body.campaignId;
  await call(cloud, 'POST', '/v1/vendors/acme/keys', {
    token: net.acmeToken,
    json: { publicKey: Buffer.alloc(32, 7).toString('base64') },
  });
  const a = siteReport(net.acmeIds('site-a'));
  const c = siteReport(net.acmeIds('site-c'));

  for (const [signer, report] of [
    [net.siteA, a],
    [net.siteC, c],
  ] as const) {
    const r = await call(cloud, 'POST', '/v1/reports', {
      token: signer.token,
      json: signEnvelope(signer, report),
    });
    expect(r.status).toBe(202);
  }
  await drainReportBatch(cloud.deps);
  Object.assign(w, {
    cloud,
    net,
    southToken,
    acmeOnly,
    southOnlyCampaign,
    reportA: a.reportId,
    reportC: c.reportId,
  });
  return w;
}

export interface Case {
  /** The route pattern, as hono lists it: every route must have at least one case. */
  route: string;
  path: () => string;
  token: () => string;
  json?: () => unknown;
  form?: () => FormData;
  /** Statuses that count as refused; 200 means "answered, filtered". */
  expect: number[];
}

export const acmeSecrets = () => [
  'acme',
  'Acme Imaging',
  'chest-xray',
  w.net.acmeModel.modelId,
  w.acmeOnly.modelId,
  w.acmeOnly.campaignId,
];
export const siteASecrets = () => [
  'site-a',
  'Hospital A',
  w.net.siteA.keyId,
  w.reportA,
  w.acmeOnly.modelId,
  w.acmeOnly.campaignId,
  w.net.jobFor(w.net.acmeModel.modelId, 'site-a'),
];
export const southSecrets = () => [
  'south',
  'South',
  'site-c',
  'Hospital C',
  w.net.siteC.keyId,
  w.reportC,
  w.southOnlyCampaign,
];

export const REFUSED = [403, 404];
export const vendorB = () => w.net.globexToken;
export const siteB = () => w.net.siteC.token;
export const northCoordinator = () => w.net.northToken;

export type Attack = { who: string; secrets: () => string[]; cases: Case[] };

/** One test per case: refused (or answered with the caller's own objects only), naming none of the secrets. */
export function describeAttacks(attacks: Attack[]): void {
  for (const attack of attacks) {
    describe(attack.who, () => {
      for (const [i, c] of attack.cases.entries()) {
        it(`${c.route} (#${i}) → ${c.expect.join('/')} and learns nothing`, async () => {
          const [method = 'GET'] = c.route.split(' ');
          const r = await call(w.cloud, method, c.path(), {
            token: c.token(),
            ...(c.json ? { json: c.json() } : {}),
            ...(c.form ? { body: c.form() } : {}),
          });
          expect(c.expect).toContain(r.status);
          if (r.status >= 400) expect(Object.keys(r.body)).toEqual(['error']);
          const text = typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
          for (const secret of attack.secrets()) expect(text).not.toContain(secret);
        });
      }
    });
  }
}
