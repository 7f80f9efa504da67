import { type Attack, northCoordinator, REFUSED, southSecrets, w } from './cross-org.test-util.ts';

/** The coordinator of one region against another region's sites, keys, reports and campaigns. */
export const COORDINATOR_ATTACKS: Attack[] = [
  {
    who: 'the coordinator of region north against region south',
    secrets: southSecrets,
    cases: [
      { route: 'GET /v1/sites', path: () => '/v1/sites', token: northCoordinator, expect: [200] },
      { route: 'GET /v1/regions', path: () => '/v1/regions', token: northCoordinator, expect: [200] },
      { route: 'GET /v1/rollouts', path: () => '/v1/rollouts', token: northCoordinator, expect: [200] },
      {
        route: 'POST /v1/rollouts/:modelId/:regionId/:action',
        path: () => `/v1/rollouts/${w.net.globexModel.modelId}/south/suspend`,
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
        path: () => `/v1/sites/site-c/keys/${w.net.siteC.keyId}/revoke`,
        token: northCoordinator,
        expect: REFUSED,
      },
      {
        route: 'GET /v1/reports/:reportId',
        path: () => `/v1/reports/${w.reportC}`,
        token: northCoordinator,
        expect: REFUSED,
      },
      {
        route: 'POST /v1/reports/:reportId/void',
        path: () => `/v1/reports/${w.reportC}/void`,
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
        path: () => `/v1/campaigns/${w.southOnlyCampaign}`,
        token: northCoordinator,
        expect: REFUSED,
      },
      {
        route: 'GET /v1/campaigns/:id/comparison',
        path: () => `/v1/campaigns/${w.southOnlyCampaign}/comparison`,
        token: northCoordinator,
        expect: REFUSED,
      },
      {
        route: 'GET /v1/campaigns/:id/status',
        path: () => `/v1/campaigns/${w.southOnlyCampaign}/status`,
        token: northCoordinator,
        expect: REFUSED,
      },
      {
        route: 'POST /v1/campaigns/:id/rerun',
        path: () => `/v1/campaigns/${w.southOnlyCampaign}/rerun`,
        token: northCoordinator,
        json: () => ({}),
        expect: REFUSED,
      },
      {
        route: 'POST /v1/campaigns/:id/criteria',
        path: () => `/v1/campaigns/${w.southOnlyCampaign}/criteria`,
        token: northCoordinator,
        json: () => ({
          criteria: { schema: 'cairn.criteria/v1', rules: [{ scope: 'overall', minSites: 1 }] },
        }),
        expect: REFUSED,
      },
      {
        // Shared campaign: the north coordinator sees (and may rerun) only its own region's jobs.
        route: 'GET /v1/campaigns/:id/status',
        path: () => `/v1/campaigns/${w.net.campaign.campaignId}/status`,
        token: northCoordinator,
        expect: [200],
      },
      {
        route: 'GET /v1/campaigns/:id/comparison',
        path: () => `/v1/campaigns/${w.net.campaign.campaignId}/comparison`,
        token: northCoordinator,
        expect: [200],
      },
      {
        route: 'GET /v1/campaigns/:id',
        path: () => `/v1/campaigns/${w.net.campaign.campaignId}`,
        token: northCoordinator,
        expect: [200],
      },
      { route: 'GET /v1/campaigns', path: () => '/v1/campaigns', token: northCoordinator, expect: [200] },
      {
        route: 'POST /v1/campaigns',
        path: () => '/v1/campaigns',
        token: northCoordinator,
        json: () => ({ name: 'x', modelIds: [w.net.globexModel.modelId], siteIds: ['site-c'] }),
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
