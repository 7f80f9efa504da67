import { fakeOnnx, modelUploadForm, signEnvelope, siteReport, testManifest } from '../test-fixtures.ts';
import { type Attack, acmeSecrets, REFUSED, siteASecrets, siteB, vendorB, w } from './cross-org.test-util.ts';
import { COORDINATOR_ATTACKS } from './cross-org-coordinator-attacks.test-util.ts';

/** Every route of the API, called by another organisation than the object's owner (cross-org.test.ts). */
export const ATTACKS: Attack[] = [
  {
    who: 'vendor B against vendor A',
    secrets: acmeSecrets,
    cases: [
      {
        route: 'GET /v1/models/:id',
        path: () => `/v1/models/${w.acmeOnly.modelId}`,
        token: vendorB,
        expect: REFUSED,
      },
      {
        route: 'GET /v1/models/:id/onnx',
        path: () => `/v1/models/${w.net.acmeModel.modelId}/onnx`,
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
        // routes/models.upload.test.ts); this embedded w.cloud has none to find.
        route: 'POST /v1/models/uploads/:id/complete',
        path: () => `/v1/models/uploads/upl_${'0'.repeat(32)}/complete`,
        token: vendorB,
        json: () => ({ manifest: testManifest({ version: '7.0.0' }) }),
        expect: REFUSED,
      },
      {
        route: 'GET /v1/campaigns/:id',
        path: () => `/v1/campaigns/${w.acmeOnly.campaignId}`,
        token: vendorB,
        expect: REFUSED,
      },
      {
        route: 'GET /v1/campaigns/:id/comparison',
        path: () => `/v1/campaigns/${w.acmeOnly.campaignId}/comparison`,
        token: vendorB,
        expect: REFUSED,
      },
      {
        route: 'POST /v1/campaigns/:id/criteria',
        path: () => `/v1/campaigns/${w.acmeOnly.campaignId}/criteria`,
        token: vendorB,
        json: () => ({
          criteria: { schema: 'cairn.criteria/v1', rules: [{ scope: 'overall', minSites: 1 }] },
        }),
        expect: REFUSED,
      },
      {
        route: 'GET /v1/models/:id/evaluation-report',
        path: () => `/v1/models/${w.acmeOnly.modelId}/evaluation-report`,
        token: vendorB,
        expect: REFUSED,
      },
      {
        route: 'GET /v1/campaigns/:id/status',
        path: () => `/v1/campaigns/${w.acmeOnly.campaignId}/status`,
        token: vendorB,
        expect: REFUSED,
      },
      {
        route: 'POST /v1/campaigns/:id/rerun',
        path: () => `/v1/campaigns/${w.net.campaign.campaignId}/rerun`,
        token: vendorB,
        json: () => ({}),
        expect: REFUSED,
      },
      {
        route: 'POST /v1/campaigns/:id/criteria',
        path: () => `/v1/campaigns/${w.net.campaign.campaignId}/criteria`,
        token: vendorB,
        json: () => ({
          criteria: { schema: 'cairn.criteria/v1', rules: [{ scope: 'overall', minSites: 1 }] },
        }),
        expect: REFUSED,
      },
      {
        route: 'GET /v1/campaigns/:id',
        path: () => `/v1/campaigns/${w.net.campaign.campaignId}`,
        token: vendorB,
        expect: [200],
      },
      {
        route: 'GET /v1/campaigns/:id/comparison',
        path: () => `/v1/campaigns/${w.net.campaign.campaignId}/comparison`,
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
        json: () => ({ name: 'x', modelIds: [w.net.acmeModel.modelId], siteIds: ['site-a'] }),
        expect: REFUSED,
      },
      {
        route: 'GET /v1/reports/:reportId',
        path: () => `/v1/reports/${w.reportA}`,
        token: vendorB,
        expect: REFUSED,
      },
      { route: 'GET /v1/jobs', path: () => '/v1/jobs', token: vendorB, expect: REFUSED },
      { route: 'GET /v1/rollouts', path: () => '/v1/rollouts', token: vendorB, expect: [200] },
      {
        route: 'GET /v1/models/:id/rollouts',
        path: () => `/v1/models/${w.acmeOnly.modelId}/rollouts`,
        token: vendorB,
        expect: REFUSED,
      },
      {
        route: 'POST /v1/rollouts/:modelId/:regionId/:action',
        path: () => `/v1/rollouts/${w.acmeOnly.modelId}/north/withdraw`,
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
        path: () => `/v1/reports/${w.reportA}`,
        token: siteB,
        expect: REFUSED,
      },
      // Answered 'unknown', as for a report never sent: whether site A sent it is not told.
      {
        route: 'GET /v1/reports/:reportId/receipt',
        path: () => `/v1/reports/${w.reportA}/receipt`,
        token: siteB,
        expect: [200],
      },
      { route: 'GET /v1/jobs', path: () => '/v1/jobs', token: siteB, expect: [200] },
      { route: 'GET /v1/rollouts', path: () => '/v1/rollouts', token: siteB, expect: [200] },
      {
        route: 'POST /v1/jobs/:id/status',
        path: () => `/v1/jobs/${w.net.jobFor(w.net.acmeModel.modelId, 'site-a')}/status`,
        token: siteB,
        json: () => ({
          jobId: w.net.jobFor(w.net.acmeModel.modelId, 'site-a'),
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
        path: () => `/v1/models/${w.acmeOnly.modelId}`,
        token: siteB,
        expect: REFUSED,
      },
      {
        route: 'GET /v1/models/:id/onnx',
        path: () => `/v1/models/${w.acmeOnly.modelId}/onnx`,
        token: siteB,
        expect: REFUSED,
      },
      { route: 'GET /v1/models', path: () => '/v1/models', token: siteB, expect: [200] },
      {
        route: 'POST /v1/reports',
        path: () => '/v1/reports',
        token: siteB,
        json: () => signEnvelope(w.net.siteA, siteReport(w.net.acmeIds('site-a'))),
        expect: REFUSED,
      },
      {
        route: 'POST /v1/reports',
        path: () => '/v1/reports',
        token: siteB,
        json: () => signEnvelope(w.net.siteC, siteReport({ ...w.net.acmeIds('site-a'), siteId: 'site-c' })),
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
        path: () => `/v1/sites/site-a/keys/${w.net.siteA.keyId}/revoke`,
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
        path: () => `/v1/campaigns/${w.acmeOnly.campaignId}`,
        token: siteB,
        expect: REFUSED,
      },
      { route: 'GET /v1/sites', path: () => '/v1/sites', token: siteB, expect: REFUSED },
    ],
  },
  ...COORDINATOR_ATTACKS,
];
