import { type AnyColumn, count, getTableColumns, type SQL, sql } from 'drizzle-orm';
import { canonicalJson } from '../../schemas/canonical-json.ts';
import { vendorKeyId } from '../../schemas/model-signature.ts';
import type { Database } from '../db/database.ts';
import {
  apiTokens,
  campaignModels,
  campaigns,
  jobs,
  models,
  reports,
  siteKeys,
  vendorKeys,
} from '../db/schema.ts';
import { ApiError } from '../errors.ts';
import { decodeReportPayload, parseEnvelope, verifyEnvelopeSignature } from '../reports/verify-envelope.ts';
import { checkRolloutsAgainstChain } from './check-rollouts.ts';
import { parameterSha256, sha256Hex } from './hashes.ts';
import type {
  RecordedCampaign,
  RecordedModel,
  RecordedReport,
  RecordedSiteKey,
  RecordedState,
  RecordedToken,
  RecordedVendorKey,
  SiteKeyState,
} from './replay-state.ts';

export const DISAGREEMENT_CODES = [
  /** A row the chain never recorded (a token, key, model or campaign inserted by SQL). */
  'not-in-chain',
  /** A row the chain records that the table no longer has. */
  'missing-from-database',
  /** A recorded field (scope, sha256, minCell, …) holds another value. */
  'differs-from-chain',
  /** Revoked, rotated or voided in the chain, live in the table. */
  'revocation-undone',
  /** Revoked or voided in the table with no entry that did it. */
  'revocation-unrecorded',
  /** A vendor key whose public key no longer derives its id. */
  'key-id-mismatch',
  /** A stored report that is not the payload its site signed. */
  'report-edited',
  /** A stored envelope that no longer verifies (its signature, its key, its payload). */
  'envelope-invalid',
  /** A stored value that cannot be read at all (not JSON, not a time). */
  'unreadable-row',
] as const;
export type DisagreementCode = (typeof DISAGREEMENT_CODES)[number];

/** One way the tables differ from what the chain records: what (a kind and an id), a code and how, no PHI. */
export interface Disagreement {
  kind: 'token' | 'site-key' | 'vendor-key' | 'model' | 'campaign' | 'report' | 'rollout-event' | 'rollout';
  id: string;
  code: DisagreementCode;
  problem: string;
}

/** How many rows of each table were compared. */
export interface StateChecked {
  tokens: number;
  siteKeys: number;
  vendorKeys: number;
  models: number;
  campaigns: number;
  reports: number;
  rolloutEvents: number;
}

type Add = (code: DisagreementCode, problem: string) => void;

/**
 * A JSON column as its stored text: drizzle would parse it while reading the table, and one row an insider
 * made unparseable would then stop the whole check instead of being named.
 */
const asText = (column: AnyColumn): SQL<string | null> => sql<string | null>`${column}`;
const parseJson = (text: string | null): unknown => (text === null ? null : JSON.parse(text));

/** The tables with their JSON columns as text (see asText). */
const tokenRows = (db: Database) =>
  db.select({ ...getTableColumns(apiTokens), regionIds: asText(apiTokens.regionIds) }).from(apiTokens);
const modelRowsOf = (db: Database) =>
  db.select({ ...getTableColumns(models), manifest: asText(models.manifest) }).from(models);
const reportRows = (db: Database) =>
  db
    .select({
      ...getTableColumns(reports),
      report: asText(reports.report),
      envelope: asText(reports.envelope),
    })
    .from(reports);

/**
 * Compares the security state in the tables with the state the chain records, and re-verifies every stored
 * report against the envelope its site signed with a key the chain vouches for. Read-only. Each disagreement
 * names the row by its id and the field that differs — values only where they are parameters (minCell),
 * never report contents.
 */
export async function checkStateAgainstChain(
  db: Database,
  recorded: RecordedState,
): Promise<{ checked: StateChecked; disagreements: Disagreement[] }> {
  const disagreements: Disagreement[] = [];
  const on =
    (kind: Disagreement['kind']) =>
    <R, C extends { seq: number }>(
      rows: R[],
      idOf: (row: R) => string,
      chain: Map<string, C>,
      compare: (row: R, recordedRow: C, add: Add) => void,
    ): number =>
      compareRows(rows, idOf, chain, compare, (id, code, problem) =>
        disagreements.push({ kind, id, code, problem }),
      );

  const tokens = on('token')(await tokenRows(db), (r) => r.id, recorded.tokens, compareToken);
  const trustedKeys = new Map<string, string>();
  const siteKeyRows = on('site-key')(
    await db.select().from(siteKeys),
    (r) => r.keyId,
    recorded.siteKeys,
    (row, chain, add) => {
      if (compareSiteKey(row, chain, add)) trustedKeys.set(`${row.siteId}/${row.keyId}`, row.publicKey);
    },
  );
  const checked: StateChecked = {
    tokens,
    siteKeys: siteKeyRows,
    vendorKeys: on('vendor-key')(
      await db.select().from(vendorKeys),
      (r) => r.keyId,
      recorded.vendorKeys,
      compareVendorKey,
    ),
    models: on('model')(await modelRowsOf(db), (r) => r.id, recorded.models, compareModel),
    campaigns: on('campaign')(await campaignRows(db), (r) => r.id, recorded.campaigns, compareCampaign),
    reports: on('report')(
      await reportRows(db),
      (r) => r.reportId,
      recorded.reports,
      (row, chain, add) => compareReport(row, chain, { trustedKeys, models: recorded.models }, add),
    ),
    rolloutEvents: await checkRolloutsAgainstChain(db, recorded.rolloutEvents, (kind, id, code, problem) =>
      disagreements.push({ kind, id, code, problem }),
    ),
  };
  return { checked, disagreements };
}

/** Each row against its recorded twin; rows only one side has are disagreements too. */
function compareRows<R, C extends { seq: number }>(
  rows: R[],
  idOf: (row: R) => string,
  chain: Map<string, C>,
  compare: (row: R, recordedRow: C, add: Add) => void,
  push: (id: string, code: DisagreementCode, problem: string) => void,
): number {
  const seen = new Set<string>();
  for (const row of rows) {
    const id = idOf(row);
    seen.add(id);
    const recordedRow = chain.get(id);
    if (!recordedRow) {
      push(id, 'not-in-chain', 'is in the database but the audit chain never recorded it');
      continue;
    }
    try {
      compare(row, recordedRow, (code, problem) => push(id, code, problem));
    } catch (err) {
      push(id, 'unreadable-row', `a stored value cannot be read (${(err as Error).name})`);
    }
  }
  for (const [id, r] of chain)
    if (!seen.has(id))
      push(id, 'missing-from-database', `is recorded at entry #${r.seq} but missing from the database`);
  return rows.length;
}

/** Adds one disagreement per field whose stored value is not the recorded one. */
function compareFields(seq: number, fields: [string, boolean][], add: Add): boolean {
  let same = true;
  for (const [field, equal] of fields)
    if (!equal) {
      add('differs-from-chain', `changed since entry #${seq}: ${field}`);
      same = false;
    }
  return same;
}

const sameJson = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);
const sorted = (ids: string[] | null) => (ids ? [...ids].sort() : null);

function compareRevocation(
  stored: boolean,
  chain: boolean,
  what: { done: string; undone: string },
  add: Add,
): void {
  if (chain && !stored)
    add('revocation-undone', `is ${what.done} in the audit chain but ${what.undone} in the database`);
  if (!chain && stored)
    add('revocation-unrecorded', `is ${what.done} in the database but the audit chain never recorded it`);
}

function compareToken(
  row: Awaited<ReturnType<typeof tokenRows>>[number],
  chain: RecordedToken,
  add: Add,
): void {
  compareFields(
    chain.seq,
    [
      ['role', row.role === chain.role],
      ['vendor scope', (row.vendorId ?? null) === chain.vendorId],
      ['region scope', sameJson(sorted(parseJson(row.regionIds) as string[] | null), chain.regionIds)],
      ['site scope', chain.role !== 'site' || row.siteId === chain.siteId],
      ['person', chain.personId === undefined || (row.personId ?? null) === chain.personId],
      ['expiry', (row.expiresAt?.toISOString() ?? null) === chain.expiresAt],
      [
        'credential (the token was replaced)',
        chain.credentialSha256 === undefined || sha256Hex(row.tokenHash) === chain.credentialSha256,
      ],
    ],
    add,
  );
  compareRevocation(row.revokedAt !== null, chain.revoked, { done: 'revoked', undone: 'valid' }, add);
}

const keyState = (row: typeof siteKeys.$inferSelect): SiteKeyState =>
  row.revokedAt === null ? 'current' : row.revokedReason === 'revoked' ? 'revoked' : 'rotated';

/** Whether the key's site and public key are the recorded ones (only then may reports be checked with it). */
function compareSiteKey(row: typeof siteKeys.$inferSelect, chain: RecordedSiteKey, add: Add): boolean {
  const trusted = compareFields(
    chain.seq,
    [
      ['site', row.siteId === chain.siteId],
      [
        'public key',
        chain.publicKeySha256 === undefined || sha256Hex(row.publicKey) === chain.publicKeySha256,
      ],
    ],
    add,
  );
  const state = keyState(row);
  const rank = { current: 0, rotated: 1, revoked: 2 };
  if (rank[state] < rank[chain.state])
    add('revocation-undone', `is ${state} in the database but ${chain.state} in the audit chain`);
  else if (rank[state] > rank[chain.state])
    add('revocation-unrecorded', `is ${state} in the database but ${chain.state} in the audit chain`);
  return trusted;
}

function compareVendorKey(row: typeof vendorKeys.$inferSelect, chain: RecordedVendorKey, add: Add): void {
  // The key id is derived from the public key, so a swapped key no longer matches its id.
  if (vendorKeyId(row.publicKey) !== row.keyId)
    add('key-id-mismatch', 'its public key does not derive its key id (the key was replaced)');
  compareFields(chain.seq, [['vendor', row.vendorId === chain.vendorId]], add);
  compareRevocation(row.revokedAt !== null, chain.revoked, { done: 'revoked', undone: 'active' }, add);
}

function compareModel(
  row: Awaited<ReturnType<typeof modelRowsOf>>[number],
  chain: RecordedModel,
  add: Add,
): void {
  const pinned = (parseJson(row.manifest) as { sha256?: unknown } | null)?.sha256;
  compareFields(
    chain.seq,
    [
      ['sha256', row.sha256 === chain.sha256 && pinned === chain.sha256],
      ['vendor', row.vendorId === chain.vendorId],
      ['name', row.name === chain.name],
      ['version', row.version === chain.version],
      ['signing key', (row.signingKeyId ?? null) === chain.signingKeyId],
    ],
    add,
  );
}

/** Each campaign with the models, sites and number of jobs it has in the tables. */
async function campaignRows(db: Database) {
  const rows = await db
    .select({
      ...getTableColumns(campaigns),
      binEdges: asText(campaigns.binEdges),
      subgroupAttributes: asText(campaigns.subgroupAttributes),
      criteria: asText(campaigns.criteria),
    })
    .from(campaigns);
  const modelRows = await db.select().from(campaignModels);
  const jobCounts = await db
    .select({ campaignId: jobs.campaignId, n: count() })
    .from(jobs)
    .groupBy(jobs.campaignId);
  const jobSites = await db.selectDistinct({ campaignId: jobs.campaignId, siteId: jobs.siteId }).from(jobs);
  return rows.map((row) => ({
    ...row,
    modelIds: modelRows.filter((m) => m.campaignId === row.id).map((m) => m.modelId),
    siteIds: jobSites.filter((j) => j.campaignId === row.id).map((j) => j.siteId),
    jobs: jobCounts.find((j) => j.campaignId === row.id)?.n ?? 0,
  }));
}

function compareCampaign(
  row: Awaited<ReturnType<typeof campaignRows>>[number],
  chain: RecordedCampaign,
  add: Add,
): void {
  if (row.minCell !== chain.minCell)
    add(
      'differs-from-chain',
      `minCell is ${row.minCell} in the database but ${chain.minCell} at entry #${chain.seq}`,
    );
  const unrecordedOr = (sha: string | undefined, value: unknown) =>
    sha === undefined || parameterSha256(value) === sha;
  compareFields(
    chain.seq,
    [
      ['requireSignedModels', row.requireSignedModels === chain.requireSignedModels],
      ['the model list', sameJson(sorted(row.modelIds), chain.modelIds)],
      ['the site list', sameJson(sorted(row.siteIds), chain.siteIds)],
      ['the number of jobs', row.jobs === chain.jobs],
      ['the bin edges', unrecordedOr(chain.binEdgesSha256, parseJson(row.binEdges))],
      [
        'the subgroup attributes',
        unrecordedOr(chain.subgroupAttributesSha256, parseJson(row.subgroupAttributes)),
      ],
      ['the criteria', sameCriteria(row, chain)],
    ],
    add,
  );
}

/** The stored criteria hash to what the chain recorded, and are still the criteria that hash names. */
function sameCriteria(
  row: { criteria: string | null; criteriaSha256: string | null; criteriaPostHoc: boolean },
  chain: RecordedCampaign,
): boolean {
  if (chain.criteriaSha256 === undefined) return true;
  if (row.criteriaSha256 !== chain.criteriaSha256 || row.criteriaPostHoc !== chain.criteriaPostHoc)
    return false;
  return row.criteria === null
    ? chain.criteriaSha256 === null
    : parameterSha256(parseJson(row.criteria)) === chain.criteriaSha256;
}

/**
 * A stored report must be exactly the payload its site signed: the envelope's signature verifies with the
 * site key the chain records, and the stored report equals the decoded payload. An edited AUC, or a report
 * swapped for another, fails one of the two.
 */
function compareReport(
  row: Awaited<ReturnType<typeof reportRows>>[number],
  chain: RecordedReport,
  vouched: { trustedKeys: Map<string, string>; models: Map<string, RecordedModel> },
  add: Add,
): void {
  try {
    const envelope = parseEnvelope(parseJson(row.envelope));
    const publicKey = vouched.trustedKeys.get(`${envelope.siteId}/${envelope.keyId}`);
    if (envelope.siteId !== row.siteId || !publicKey)
      add('envelope-invalid', 'its envelope names a site key the audit chain does not vouch for');
    else {
      verifyEnvelopeSignature(envelope, publicKey);
      const signed = decodeReportPayload(envelope.payload);
      const ids = [signed.reportId, signed.jobId, signed.campaignId, signed.siteId];
      // The model the row is pooled under must be the one the site says it ran (as the chain records it).
      const model = vouched.models.get(row.modelId);
      const sameModel =
        model !== undefined &&
        sameJson(
          [model.vendorId, model.name, model.version, model.sha256],
          [signed.model.vendor, signed.model.name, signed.model.version, signed.model.sha256],
        );
      if (
        !sameJson(signed, parseJson(row.report)) ||
        !sameJson(ids, [row.reportId, row.jobId, row.campaignId, row.siteId]) ||
        !sameModel
      )
        add('report-edited', 'the stored report differs from the payload its site signed');
    }
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    add('envelope-invalid', `its stored envelope fails verification (${err.code})`);
  }
  compareRevocation(row.voidedAt !== null, chain.voided, { done: 'voided', undone: 'live' }, add);
}
