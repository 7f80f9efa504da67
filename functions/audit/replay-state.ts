import type { StoredAuditRow } from './chain.ts';
import type { RecordedRolloutEvent } from './check-rollouts.ts';

/**
 * The security state the audit chain records, rebuilt by replaying its entries in order: which tokens were
 * issued (and with what scope) and revoked, which site and vendor keys exist and in which state, each model's
 * identity and sha256, each campaign's parameters, and which reports were accepted and voided. `cairn audit
 * verify` compares this with the tables (./check-state.ts): a change made by SQL, around the API, shows as a
 * disagreement. Fields an older entry did not record are undefined and not compared.
 */

export interface RecordedToken {
  seq: number;
  role: string;
  vendorId: string | null;
  regionIds: string[] | null;
  siteId: string | null;
  /** Undefined where the entry predates people on tokens. */
  personId: string | null | undefined;
  expiresAt: string | null;
  /** sha256 of the stored token hash (so the chain is no lookup table for it). */
  credentialSha256: string | undefined;
  revoked: boolean;
}

export type SiteKeyState = 'current' | 'rotated' | 'revoked';

export interface RecordedSiteKey {
  seq: number;
  siteId: string;
  state: SiteKeyState;
  publicKeySha256: string | undefined;
}

export interface RecordedVendorKey {
  seq: number;
  vendorId: string;
  revoked: boolean;
}

export interface RecordedModel {
  seq: number;
  vendorId: string;
  name: string;
  version: string;
  sha256: string;
  signingKeyId: string | null;
}

export interface RecordedCampaign {
  seq: number;
  minCell: number;
  requireSignedModels: boolean;
  modelIds: string[];
  siteIds: string[];
  jobs: number;
  binEdgesSha256: string | undefined;
  subgroupAttributesSha256: string | undefined;
  /** null: recorded as created without criteria; undefined: an entry from before criteria existed. */
  criteriaSha256: string | null | undefined;
  criteriaPostHoc: boolean;
}

export interface RecordedReport {
  seq: number;
  voided: boolean;
}

export interface RecordedState {
  tokens: Map<string, RecordedToken>;
  siteKeys: Map<string, RecordedSiteKey>;
  vendorKeys: Map<string, RecordedVendorKey>;
  models: Map<string, RecordedModel>;
  campaigns: Map<string, RecordedCampaign>;
  reports: Map<string, RecordedReport>;
  rolloutEvents: Map<string, RecordedRolloutEvent>;
}

type Detail = Record<string, unknown>;

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const strings = (v: unknown): string[] | null =>
  Array.isArray(v) && v.every((s) => typeof s === 'string') ? [...v].sort() : null;
const optional = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function replayAuditChain(rows: StoredAuditRow[]): RecordedState {
  const state: RecordedState = {
    tokens: new Map(),
    siteKeys: new Map(),
    vendorKeys: new Map(),
    models: new Map(),
    campaigns: new Map(),
    reports: new Map(),
    rolloutEvents: new Map(),
  };
  for (const row of rows) {
    let detail: Detail;
    try {
      detail = JSON.parse(row.detail) as Detail;
    } catch {
      continue; // The chain check names this row.
    }
    // Rollout decisions are compared field by field (./check-rollouts.ts), so their entry is kept as it is.
    if (row.action === 'rollout.changed') state.rolloutEvents.set(row.target, { seq: row.seq, detail });
    // Own keys only: an action named like an Object.prototype member must change nothing.
    else if (Object.hasOwn(APPLY, row.action)) APPLY[row.action]?.(state, row, detail);
  }
  return state;
}

type Apply = (s: RecordedState, row: StoredAuditRow, d: Detail) => void;

const tokenRecord = (
  seq: number,
  d: Detail,
  scope: Pick<RecordedToken, 'role' | 'vendorId' | 'regionIds' | 'siteId' | 'personId' | 'expiresAt'>,
): RecordedToken => ({
  seq,
  ...scope,
  credentialSha256: optional(d.credentialSha256),
  revoked: false,
});

/** Enrolling replaces the site's agent: its earlier keys are rotated away and its earlier site tokens revoked. */
const siteEnrolled: Apply = (s, { seq, target }, d) => {
  for (const token of s.tokens.values())
    if (token.role === 'site' && token.siteId === target) token.revoked = true;
  for (const id of strings(d.supersededKeyIds) ?? []) setKeyState(s, id, 'rotated');
  const tokenId = str(d.tokenId);
  if (tokenId)
    s.tokens.set(
      tokenId,
      tokenRecord(seq, d, {
        role: 'site',
        vendorId: null,
        regionIds: null,
        siteId: target,
        personId: null,
        expiresAt: null,
      }),
    );
  addSiteKey(s, seq, d.keyId, target, d.publicKeySha256);
};

/** What each recorded action changes; actions that change no security state are not here. */
const APPLY: Record<string, Apply> = {
  'token.issued': (s, { seq, target }, d) =>
    s.tokens.set(
      target,
      tokenRecord(seq, d, {
        role: String(d.role),
        vendorId: str(d.vendorId),
        regionIds: strings(d.regionIds),
        siteId: null,
        personId: 'personId' in d ? str(d.personId) : undefined,
        expiresAt: str(d.expiresAt),
      }),
    ),
  'token.revoked': (s, { target }) => {
    const token = s.tokens.get(target);
    if (token) token.revoked = true;
  },
  'site.enrolled': siteEnrolled,
  'site-key.rotated': (s, { seq, target }, d) => {
    setKeyState(s, str(d.retiredKeyId), 'rotated');
    addSiteKey(s, seq, d.keyId, target, d.publicKeySha256);
  },
  'site-key.revoked': (s, _row, d) => setKeyState(s, str(d.keyId), 'revoked'),
  'vendor-key.registered': (s, { seq, target }, d) => {
    const keyId = str(d.keyId);
    if (keyId) s.vendorKeys.set(keyId, { seq, vendorId: target, revoked: false });
  },
  'vendor-key.revoked': (s, _row, d) => {
    const key = s.vendorKeys.get(String(d.keyId));
    if (key) key.revoked = true;
  },
  'model.submitted': (s, { seq, target }, d) =>
    s.models.set(target, {
      seq,
      vendorId: String(d.vendorId),
      name: String(d.name),
      version: String(d.version),
      sha256: String(d.sha256),
      signingKeyId: str(d.signingKeyId),
    }),
  'campaign.created': applyCampaign,
  'campaign.criteria-added': applyCampaign,
  // A voided report's job may be reported again, under a new report id; the first acceptance counts.
  'report.accepted': (s, { seq, target }) => {
    if (!s.reports.has(target)) s.reports.set(target, { seq, voided: false });
  },
  'report.voided': (s, { target }) => {
    const report = s.reports.get(target);
    if (report) report.voided = true;
  },
};

function applyCampaign(s: RecordedState, row: StoredAuditRow, d: Detail): void {
  const { seq, target } = row;
  if (row.action === 'campaign.criteria-added') {
    const campaign = s.campaigns.get(target);
    if (campaign) Object.assign(campaign, { criteriaSha256: str(d.criteriaSha256), criteriaPostHoc: true });
    return;
  }
  s.campaigns.set(target, {
    seq,
    minCell: Number(d.minCell),
    requireSignedModels: d.requireSignedModels === true,
    modelIds: strings(d.modelIds) ?? [],
    siteIds: strings(d.siteIds) ?? [],
    jobs: Number(d.jobs),
    binEdgesSha256: optional(d.binEdgesSha256),
    subgroupAttributesSha256: optional(d.subgroupAttributesSha256),
    criteriaSha256: d.criteriaSha256 === null ? null : optional(d.criteriaSha256),
    criteriaPostHoc: false,
  });
}

function addSiteKey(s: RecordedState, seq: number, keyId: unknown, siteId: string, sha: unknown): void {
  if (typeof keyId !== 'string') return;
  s.siteKeys.set(keyId, { seq, siteId, state: 'current', publicKeySha256: optional(sha) });
}

function setKeyState(s: RecordedState, keyId: string | null, to: 'rotated' | 'revoked'): void {
  const key = keyId ? s.siteKeys.get(keyId) : undefined;
  // Revoked is final: a rotation recorded later cannot downgrade it.
  if (key && key.state !== 'revoked') key.state = to;
}
