import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drainReportBatch } from '../ingest/embedded.ts';
import {
  call,
  fakeOnnx,
  type Loose,
  modelUploadForm,
  openTestCloud,
  seedNetwork,
  signEnvelope,
  siteReport,
  type TestCloud,
  testManifest,
} from '../test-fixtures.ts';

/**
 * Every route of the API, called with the token of *another* organisation than the object's owner: vendor B
 * against vendor A's models, campaigns and comparisons; site B against site A's reports, jobs, models and
 * keys; the coordinator of one region against another region's sites, keys, reports and campaigns. Each is
 * refused (403/404) or answered with only the caller's own objects, and no body names anything of the other
 * organisation.
 */

let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
let southToken: string;
let acmeOnly: { modelId: string; campaignId: string };
let southOnlyCampaign: string;
let reportA: string;
let reportC: string;

beforeAll(async () => {
  cloud = await openTestCloud();
  net = await seedNetwork(cloud);
  const admin = cloud.adminToken;
  southToken = (
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
  acmeOnly = { modelId: model.body.modelId, campaignId: campaign.body.campaignId };
  southOnlyCampaign = (
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
  reportA = a.reportId;
  reportC = c.reportId;
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
});
afterAll(() => cloud.close());

interface Case {
  /** The route pattern, as hono lists it: every route must have at least one case. */
  route: string;
  path: () => string;
  token: () => string;
  json?: () => unknown;
  form?: () => FormData;
  /** Statuses that count as refused; 200 means "answered, filtered". */
  expect: number[];
}

const acmeSecrets = () => [
  'acme',
  'Acme Imaging',
  'chest-xray',
  net.acmeModel.modelId,
  acmeOnly.modelId,
  acmeOnly.campaignId,
];
const siteASecrets = () => [
  'site-a',
  'Hospital A',
  net.siteA.keyId,
  reportA,
  acmeOnly.modelId,
  acmeOnly.campaignId,
  net.jobFor(net.acmeModel.modelId, 'site-a'),
];
const southSecrets = () => [
  'south',
  'South',
  'site-c',
  'Hospital C',
  net.siteC.keyId,
  reportC,
  southOnlyCampaign,
];

const REFUSED = [403, 404];
const vendorB = () => net.globexToken;
const siteB = () => net.siteC.token;
const northCoordinator = () => net.northToken;

const attacks: { who: string; secrets: () => string[]; cases: Case[] }[] = [
  {
    who: 'vendor B against vendor A',
    secrets: acmeSecrets,
    cases: [
      {
        route: 'GET /v1/models/:id',
        path: () => `/v1/models/${acmeOnly.modelId}`,
        token: vendorB,
        expect: REFUSED,
      },
      {
        route: 'GET /v1/models/:id/onnx',
        path: () => `/v1/models/${net.acmeModel.modelId}/onnx`,
        token: vendorB,
        expect: REFUSED,
      },
      { route: 'GET /v1/models', path: () => '/v1/models', token: vendorB, expect: [200] },
      {
        route: 'POST /v1/models',
        path: () => '/v1/models',
        token: vendorB,
        form: () => modelUploadForm(testManifest({ version: '7.0.0' }), fakeOnnx('x')),
        expect: REFUSED,
      },
      {
        // A direct upload is its creator's: another vendor's completion is a 404 (on S3, too:
        // routes/models.upload.test.ts); this embedded cloud has none to find.
        route: 'POST /v1/models/uploads/:id/complete',
        path: () => `/v1/models/uploads/upl_${'0'.repeat(32)}/complete`,
        token: vendorB,
        json: () => ({ manifest: testManifest({ version: '7.0.0' }) }),
        expect: REFUSED,
      },
      {
        route: 'GET /v1/campaigns/:id',
        path: () => `/v1/campaigns/${acmeOnly.campaignId}`,
        token: vendorB,
        expect: REFUSED,
      },
      {
        route: 'GET /v1/campaigns/:id/comparison',
        path: () => `/v1/campaigns/${acmeOnly.campaignId}/comparison`,
        token: vendorB,
        expect: REFUSED,
      },
      {
        route: 'POST /v1/campaigns/:id/criteria',
        path: () => `/v1/campaigns/${acmeOnly.campaignId}/criteria`,
        token: vendorB,
        json: () => ({
          criteria: { schema: 'cairn.criteria/v1', rules: [{ scope: 'overall', minSites: 1 }] },
        }),
        expect: REFUSED,
      },
      {
        route: 'GET /v1/models/:id/evaluation-report',
        path: () => `/v1/models/${acmeOnly.modelId}/evaluation-report`,
        token: vendorB,
        expect: REFUSED,
      },
      {
        route: 'GET /v1/campaigns/:id/status',
        path: () => `/v1/campaigns/${acmeOnly.campaignId}/status`,
        token: vendorB,
        expect: REFUSED,
      },
      {
        route: 'POST /v1/campaigns/:id/rerun',
        path: () => `/v1/campaigns/${net.campaign.campaignId}/rerun`,
        token: vendorB,
        json: () => ({}),
        expect: REFUSED,
      },
      {
        route: 'POST /v1/campaigns/:id/criteria',
        path: () => `/v1/campaigns/${net.campaign.campaignId}/criteria`,
        token: vendorB,
        json: () => ({
          criteria: { schema: 'cairn.criteria/v1', rules: [{ scope: 'overall', minSites: 1 }] },
        }),
        expect: REFUSED,
      },
      {
        route: 'GET /v1/campaigns/:id',
        path: () => `/v1/campaigns/${net.campaign.campaignId}`,
        token: vendorB,
        expect: [200],
      },
      {
        route: 'GET /v1/campaigns/:id/comparison',
        path: () => `/v1/campaigns/${net.campaign.campaignId}/comparison`,
        token: vendorB,
        expect: [200],
      },
      { route: 'GET /v1/campaigns', path: () => '/v1/campaigns', token: vendorB, expect: [200] },
      {
        route: 'POST /v1/vendors/:id/keys',
        path: () => '/v1/vendors/acme/keys',
        token: vendorB,
        json: () => ({ publicKey: Buffer.alloc(32, 9).toString('base64') }),
        expect: REFUSED,
      },
      {
        route: 'GET /v1/vendors/:id/keys',
        path: () => '/v1/vendors/acme/keys',
        token: vendorB,
        expect: REFUSED,
      },
      {
        route: 'POST /v1/vendors/:id/keys/:keyId/revoke',
        path: () => `/v1/vendors/acme/keys/vk_${'0'.repeat(32)}/revoke`,
        token: vendorB,
        expect: REFUSED,
      },
      { route: 'GET /v1/vendors', path: () => '/v1/vendors', token: vendorB, expect: REFUSED },
      {
        route: 'POST /v1/campaigns',
        path: () => '/v1/campaigns',
        token: vendorB,
        json: () => ({ name: 'x', modelIds: [net.acmeModel.modelId], siteIds: ['site-a'] }),
        expect: REFUSED,
      },
      {
        route: 'GET /v1/reports/:reportId',
        path: () => `/v1/reports/${reportA}`,
        token: vendorB,
        expect: REFUSED,
      },
      { route: 'GET /v1/jobs', path: () => '/v1/jobs', token: vendorB, expect: REFUSED },
      { route: 'GET /v1/rollouts', path: () => '/v1/rollouts', token: vendorB, expect: [200] },
      {
        route: 'GET /v1/models/:id/rollouts',
        path: () => `/v1/models/${acmeOnly.modelId}/rollouts`,
        token: vendorB,
        expect: REFUSED,
      },
      {
        route: 'POST /v1/rollouts/:modelId/:regionId/:action',
        path: () => `/v1/rollouts/${acmeOnly.modelId}/north/withdraw`,
        token: vendorB,
        json: () => ({ reason: 'sabotage' }),
        expect: REFUSED,
      },
    ],
  },
  {
    who: 'site B against site A',
    secrets: siteASecrets,
    cases: [
      {
        route: 'GET /v1/reports/:reportId',
        path: () => `/v1/reports/${reportA}`,
        token: siteB,
        expect: REFUSED,
      },
      // Answered 'unknown', as for a report never sent: whether site A sent it is not told.
      {
        route: 'GET /v1/reports/:reportId/receipt',
        path: () => `/v1/reports/${reportA}/receipt`,
        token: siteB,
        expect: [200],
      },
      { route: 'GET /v1/jobs', path: () => '/v1/jobs', token: siteB, expect: [200] },
      { route: 'GET /v1/rollouts', path: () => '/v1/rollouts', token: siteB, expect: [200] },
      {
        route: 'POST /v1/jobs/:id/status',
        path: () => `/v1/jobs/${net.jobFor(net.acmeModel.modelId, 'site-a')}/status`,
        token: siteB,
        json: () => ({
          jobId: net.jobFor(net.acmeModel.modelId, 'site-a'),
          attempt: 1,
          status: 'failed',
          failure: 'model-load-failed',
        }),
        expect: REFUSED,
      },
      {
        route: 'POST /v1/models/uploads',
        path: () => '/v1/models/uploads',
        token: siteB,
        json: () => ({ size: 10 }),
        expect: REFUSED,
      },
      {
        route: 'GET /v1/models/:id',
        path: () => `/v1/models/${acmeOnly.modelId}`,
        token: siteB,
        expect: REFUSED,
      },
      {
        route: 'GET /v1/models/:id/onnx',
        path: () => `/v1/models/${acmeOnly.modelId}/onnx`,
        token: siteB,
        expect: REFUSED,
      },
      { route: 'GET /v1/models', path: () => '/v1/models', token: siteB, expect: [200] },
      {
        route: 'POST /v1/reports',
        path: () => '/v1/reports',
        token: siteB,
        json: () => signEnvelope(net.siteA, siteReport(net.acmeIds('site-a'))),
        expect: REFUSED,
      },
      {
        route: 'POST /v1/reports',
        path: () => '/v1/reports',
        token: siteB,
        json: () => signEnvelope(net.siteC, siteReport({ ...net.acmeIds('site-a'), siteId: 'site-c' })),
        expect: REFUSED,
      },
      { route: 'GET /v1/sites/:id/keys', path: () => '/v1/sites/site-a/keys', token: siteB, expect: REFUSED },
      {
        route: 'POST /v1/sites/:id/keys/rotate',
        path: () => '/v1/sites/site-a/keys/rotate',
        token: siteB,
        json: () => ({}),
        expect: REFUSED,
      },
      {
        route: 'POST /v1/sites/:id/keys/:keyId/revoke',
        path: () => `/v1/sites/site-a/keys/${net.siteA.keyId}/revoke`,
        token: siteB,
        expect: REFUSED,
      },
      {
        route: 'POST /v1/sites/:siteId/enrollment-tokens',
        path: () => '/v1/sites/site-a/enrollment-tokens',
        token: siteB,
        json: () => ({}),
        expect: REFUSED,
      },
      {
        route: 'GET /v1/campaigns/:id',
        path: () => `/v1/campaigns/${acmeOnly.campaignId}`,
        token: siteB,
        expect: REFUSED,
      },
      { route: 'GET /v1/sites', path: () => '/v1/sites', token: siteB, expect: REFUSED },
    ],
  },
  {
    who: 'the coordinator of region north against region south',
    secrets: southSecrets,
    cases: [
      { route: 'GET /v1/sites', path: () => '/v1/sites', token: northCoordinator, expect: [200] },
      { route: 'GET /v1/regions', path: () => '/v1/regions', token: northCoordinator, expect: [200] },
      { route: 'GET /v1/rollouts', path: () => '/v1/rollouts', token: northCoordinator, expect: [200] },
      {
        route: 'POST /v1/rollouts/:modelId/:regionId/:action',
        path: () => `/v1/rollouts/${net.globexModel.modelId}/south/suspend`,
        token: northCoordinator,
        json: () => ({ reason: 'not mine to stop' }),
        expect: REFUSED,
      },
      {
        route: 'POST /v1/sites',
        path: () => '/v1/sites',
        token: northCoordinator,
        json: () => ({ id: 'site-z', regionId: 'south', name: 'Z' }),
        expect: REFUSED,
      },
      {
        route: 'POST /v1/regions',
        path: () => '/v1/regions',
        token: northCoordinator,
        json: () => ({ id: 'east', name: 'East' }),
        expect: REFUSED,
      },
      {
        route: 'POST /v1/sites/:siteId/enrollment-tokens',
        path: () => '/v1/sites/site-c/enrollment-tokens',
        token: northCoordinator,
        json: () => ({}),
        expect: REFUSED,
      },
      {
        route: 'GET /v1/sites/:id/keys',
        path: () => '/v1/sites/site-c/keys',
        token: northCoordinator,
        expect: REFUSED,
      },
      {
        route: 'POST /v1/sites/:id/keys/:keyId/revoke',
        path: () => `/v1/sites/site-c/keys/${net.siteC.keyId}/revoke`,
        token: northCoordinator,
        expect: REFUSED,
      },
      {
        route: 'GET /v1/reports/:reportId',
        path: () => `/v1/reports/${reportC}`,
        token: northCoordinator,
        expect: REFUSED,
      },
      {
        route: 'POST /v1/reports/:reportId/void',
        path: () => `/v1/reports/${reportC}/void`,
        token: northCoordinator,
        json: () => ({ reason: 'labels were mixed up' }),
        expect: REFUSED,
      },
      // Answered, filtered: south's refusal counts (site-c) never appear.
      {
        route: 'GET /v1/report-refusals',
        path: () => '/v1/report-refusals',
        token: northCoordinator,
        expect: [200],
      },
      {
        route: 'GET /v1/campaigns/:id',
        path: () => `/v1/campaigns/${southOnlyCampaign}`,
        token: northCoordinator,
        expect: REFUSED,
      },
      {
        route: 'GET /v1/campaigns/:id/comparison',
        path: () => `/v1/campaigns/${southOnlyCampaign}/comparison`,
        token: northCoordinator,
        expect: REFUSED,
      },
      {
        route: 'GET /v1/campaigns/:id/status',
        path: () => `/v1/campaigns/${southOnlyCampaign}/status`,
        token: northCoordinator,
        expect: REFUSED,
      },
      {
        route: 'POST /v1/campaigns/:id/rerun',
        path: () => `/v1/campaigns/${southOnlyCampaign}/rerun`,
        token: northCoordinator,
        json: () => ({}),
        expect: REFUSED,
      },
      {
        route: 'POST /v1/campaigns/:id/criteria',
        path: () => `/v1/campaigns/${southOnlyCampaign}/criteria`,
        token: northCoordinator,
        json: () => ({
          criteria: { schema: 'cairn.criteria/v1', rules: [{ scope: 'overall', minSites: 1 }] },
        }),
        expect: REFUSED,
      },
      {
        // Shared campaign: the north coordinator sees (and may rerun) only its own region's jobs.
        route: 'GET /v1/campaigns/:id/status',
        path: () => `/v1/campaigns/${net.campaign.campaignId}/status`,
        token: northCoordinator,
        expect: [200],
      },
      {
        route: 'GET /v1/campaigns/:id/comparison',
        path: () => `/v1/campaigns/${net.campaign.campaignId}/comparison`,
        token: northCoordinator,
        expect: [200],
      },
      {
        route: 'GET /v1/campaigns/:id',
        path: () => `/v1/campaigns/${net.campaign.campaignId}`,
        token: northCoordinator,
        expect: [200],
      },
      { route: 'GET /v1/campaigns', path: () => '/v1/campaigns', token: northCoordinator, expect: [200] },
      {
        route: 'POST /v1/campaigns',
        path: () => '/v1/campaigns',
        token: northCoordinator,
        json: () => ({ name: 'x', modelIds: [net.globexModel.modelId], siteIds: ['site-c'] }),
        expect: REFUSED,
      },
      {
        route: 'POST /v1/tokens',
        path: () => '/v1/tokens',
        token: northCoordinator,
        json: () => ({ role: 'coordinator', regionIds: ['south'], label: 'escalate' }),
        expect: REFUSED,
      },
      { route: 'GET /v1/tokens', path: () => '/v1/tokens', token: northCoordinator, expect: REFUSED },
      {
        route: 'POST /v1/tokens/:id/revoke',
        path: () => '/v1/tokens/tok_whatever/revoke',
        token: northCoordinator,
        expect: REFUSED,
      },
      {
        route: 'POST /v1/vendors',
        path: () => '/v1/vendors',
        token: northCoordinator,
        json: () => ({ id: 'evil', name: 'Evil' }),
        expect: REFUSED,
      },
    ],
  },
];

describe('another organisation’s token', () => {
  for (const attack of attacks) {
    describe(attack.who, () => {
      for (const [i, c] of attack.cases.entries()) {
        it(`${c.route} (#${i}) → ${c.expect.join('/')} and learns nothing`, async () => {
          const [method = 'GET'] = c.route.split(' ');
          const r = await call(cloud, method, c.path(), {
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

  it('covers every route of the API (the public ones are listed with their reason)', () => {
    const PUBLIC = new Set([
      'GET /v1/health', // says only that the API answers, and its version
      'POST /v1/enroll', // the one-time token is the credential and names its site (routes/enrollment.test.ts)
    ]);
    const routes = new Set(
      (cloud.app.routes as { method: string; path: string }[])
        .filter((r) => r.method !== 'ALL' && r.path.startsWith('/v1/'))
        .map((r) => `${r.method} ${r.path}`),
    );
    const covered = new Set(attacks.flatMap((a) => a.cases.map((c) => c.route)));
    const missing = [...routes].filter((r) => !covered.has(r) && !PUBLIC.has(r));
    expect(missing).toEqual([]);
  });

  it('each regional coordinator’s comparison pools only its own sites', async () => {
    const r = await call(cloud, 'GET', `/v1/campaigns/${net.campaign.campaignId}/comparison`, {
      token: net.northToken,
    });
    const acme = r.body.models.find((m: Loose) => m.vendor === 'acme');
    expect(acme.sites.map((s: Loose) => s.site)).toEqual(['site-a']);
    const south = await call(cloud, 'GET', `/v1/campaigns/${net.campaign.campaignId}/comparison`, {
      token: southToken,
    });
    const acmeSouth = south.body.models.find((m: Loose) => m.vendor === 'acme');
    expect(acmeSouth.sites.map((s: Loose) => s.site)).toEqual(['site-c']);
    expect(JSON.stringify(south.body)).not.toContain('site-a');
  });
});
