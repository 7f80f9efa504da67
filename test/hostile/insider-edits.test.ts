import { eq } from 'drizzle-orm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { issueApiToken } from '../../functions/api/issue-token.ts';
import { verifyAuditData } from '../../functions/audit/verify-data.ts';
import { apiTokens, reports, siteKeys } from '../../functions/db/schema.ts';
import { drainReportBatch } from '../../functions/ingest/embedded.ts';
import { hashSecret } from '../../functions/secrets.ts';
import {
  call,
  openTestCloud,
  seedNetwork,
  signEnvelope,
  siteKeyPair,
  siteReport,
  type TestCloud,
} from '../../functions/test-fixtures.ts';
import { runCairn } from '../support/cli-runner.ts';

/**
 * An insider with write access to the cloud's database (the libSQL file) changes the security state with
 * SQL, around the API and its audit chain. The chain itself stays intact — nothing in it was touched — so
 * `cairn audit verify` must find each edit by comparing the tables with what the chain records, and name it
 * with its reason code. The network: seedNetwork, one accepted report from site A, a revoked vendor token,
 * and site C enrolled twice (its first key rotated away).
 */

let cloud: TestCloud;
let net: Awaited<ReturnType<typeof seedNetwork>>;
let reportId: string;
let revokedTokenId: string;
let retiredKeyId: string;

beforeEach(async () => {
  cloud = await openTestCloud();
  net = await seedNetwork(cloud);
  const report = siteReport(net.acmeIds('site-a'));
  reportId = report.reportId;
  const sent = await call(cloud, 'POST', '/v1/reports', {
    token: net.siteA.token,
    json: signEnvelope(net.siteA, report),
  });
  expect(sent.status).toBe(202);
  await drainReportBatch(cloud.deps);

  const extra = await call(cloud, 'POST', '/v1/tokens', {
    token: cloud.adminToken,
    json: { role: 'vendor', vendorId: 'acme', label: 'leaked' },
  });
  revokedTokenId = extra.body.id;
  expect(
    (await call(cloud, 'POST', `/v1/tokens/${revokedTokenId}/revoke`, { token: cloud.adminToken })).status,
  ).toBe(200);

  retiredKeyId = net.siteC.keyId;
  const { body: enr } = await call(cloud, 'POST', '/v1/sites/site-c/enrollment-tokens', {
    token: cloud.adminToken,
    json: {},
  });
  const again = await call(cloud, 'POST', '/v1/enroll', {
    json: { token: enr.token, publicKey: siteKeyPair().publicKeyRaw, agentVersion: '0.1.0' },
  });
  expect(again.status).toBe(201);
});
afterEach(() => cloud.close());

const sql = (statement: string, args: (string | number)[] = []) =>
  cloud.deps.db.$client.execute({ sql: statement, args });

async function disagreements() {
  const result = await verifyAuditData(cloud.dir);
  // The chain itself was never touched: only the comparison with the tables can find these edits.
  expect(result.brokenAt).toBeUndefined();
  return { ok: result.ok, found: result.disagreements };
}

describe('an untouched database', () => {
  it('verifies intact: every table agrees with the chain and the stored report verifies', async () => {
    const result = await verifyAuditData(cloud.dir);
    expect(result).toMatchObject({ ok: true, disagreements: [] });
    expect(result.checked).toMatchObject({ reports: 1, campaigns: 1, models: 2, siteKeys: 3, vendorKeys: 0 });
  });
});

describe('insider SQL edits are named by `audit verify`, with the reason code', () => {
  it('un-revoking a token → token revocation-undone', async () => {
    await sql('UPDATE api_tokens SET revoked_at = NULL WHERE id = ?', [revokedTokenId]);
    const { ok, found } = await disagreements();
    expect(ok).toBe(false);
    expect(found).toEqual([
      expect.objectContaining({ kind: 'token', id: revokedTokenId, code: 'revocation-undone' }),
    ]);
  });

  it("widening a coordinator token's regions → token differs-from-chain (region scope)", async () => {
    await sql(`UPDATE api_tokens SET region_ids = '["north","south"]' WHERE label = 'north'`);
    const { found } = await disagreements();
    expect(found).toEqual([
      expect.objectContaining({
        kind: 'token',
        code: 'differs-from-chain',
        problem: expect.stringMatching(/: region scope$/),
      }),
    ]);
  });

  it("replacing an admin token's hash with the insider's own secret → token differs-from-chain (credential)", async () => {
    const [admin] = await cloud.deps.db.select().from(apiTokens).where(eq(apiTokens.role, 'admin'));
    await sql('UPDATE api_tokens SET token_hash = ? WHERE id = ?', [
      hashSecret('cairn_mine_all_mine_now_0000'),
      admin!.id,
    ]);
    const { found } = await disagreements();
    expect(found).toEqual([
      expect.objectContaining({
        kind: 'token',
        id: admin!.id,
        code: 'differs-from-chain',
        problem: expect.stringMatching(/: credential \(the token was replaced\)$/),
      }),
    ]);
  });

  it('an admin token inserted by SQL → token not-in-chain', async () => {
    const forged = await issueApiToken(cloud.deps.db, new Date(), { role: 'admin', label: 'backdoor' });
    const { found } = await disagreements();
    expect(found).toEqual([expect.objectContaining({ kind: 'token', id: forged.id, code: 'not-in-chain' })]);
  });

  it("editing a stored report's AUC → report report-edited", async () => {
    const [row] = await cloud.deps.db.select().from(reports).where(eq(reports.reportId, reportId));
    const edited = { ...(row!.report as { auc: { estimate: number } }) };
    edited.auc = { ...edited.auc, estimate: 0.99 };
    await sql('UPDATE reports SET report = ? WHERE report_id = ?', [JSON.stringify(edited), reportId]);
    const { found } = await disagreements();
    expect(found).toEqual([expect.objectContaining({ kind: 'report', id: reportId, code: 'report-edited' })]);
    expect(JSON.stringify(found)).not.toContain('0.99');
  });

  it('moving a stored report to another model → report report-edited', async () => {
    await sql('UPDATE reports SET model_id = ? WHERE report_id = ?', [net.globexModel.modelId, reportId]);
    const { found } = await disagreements();
    expect(found).toEqual([expect.objectContaining({ kind: 'report', id: reportId, code: 'report-edited' })]);
  });

  it("editing the signed envelope's payload too → report envelope-invalid (bad-signature)", async () => {
    const [row] = await cloud.deps.db.select().from(reports).where(eq(reports.reportId, reportId));
    const envelope = row!.envelope as { payload: string };
    const text = Buffer.from(envelope.payload, 'base64')
      .toString('utf8')
      .replace('"estimate":0.86', '"estimate":0.99');
    const forged = { ...envelope, payload: Buffer.from(text).toString('base64') };
    await sql('UPDATE reports SET envelope = ? WHERE report_id = ?', [JSON.stringify(forged), reportId]);
    const { found } = await disagreements();
    expect(found).toEqual([
      expect.objectContaining({
        kind: 'report',
        code: 'envelope-invalid',
        problem: expect.stringMatching(/bad-signature/),
      }),
    ]);
  });

  it("changing a model's sha256 → model differs-from-chain (sha256)", async () => {
    await sql('UPDATE models SET sha256 = ? WHERE id = ?', ['f'.repeat(64), net.acmeModel.modelId]);
    const { found } = await disagreements();
    expect(found).toEqual([
      expect.objectContaining({
        kind: 'model',
        id: net.acmeModel.modelId,
        code: 'differs-from-chain',
        problem: expect.stringMatching(/^changed since entry #\d+: sha256$/),
      }),
    ]);
  });

  it("lowering a campaign's minCell → campaign differs-from-chain (minCell 1, recorded 3)", async () => {
    await sql('UPDATE campaigns SET min_cell = 1 WHERE id = ?', [net.campaign.campaignId]);
    const { found } = await disagreements();
    expect(found).toEqual([
      expect.objectContaining({
        kind: 'campaign',
        id: net.campaign.campaignId,
        code: 'differs-from-chain',
        problem: expect.stringMatching(/^minCell is 1 in the database but 3 at entry #\d+$/),
      }),
    ]);
  });

  it("changing a campaign's bin edges → campaign differs-from-chain (the bin edges)", async () => {
    await sql("UPDATE campaigns SET bin_edges = '[0,0.5,1]' WHERE id = ?", [net.campaign.campaignId]);
    const { found } = await disagreements();
    expect(found).toEqual([
      expect.objectContaining({ kind: 'campaign', problem: expect.stringMatching(/: the bin edges$/) }),
    ]);
  });

  it('re-activating a retired site key → site-key revocation-undone', async () => {
    const [before] = await cloud.deps.db.select().from(siteKeys).where(eq(siteKeys.keyId, retiredKeyId));
    expect(before?.revokedReason).toBe('rotated');
    await sql('UPDATE site_keys SET revoked_at = NULL, revoked_reason = NULL WHERE key_id = ?', [
      retiredKeyId,
    ]);
    const { found } = await disagreements();
    expect(found).toEqual([
      expect.objectContaining({
        kind: 'site-key',
        id: retiredKeyId,
        code: 'revocation-undone',
        problem: 'is current in the database but rotated in the audit chain',
      }),
    ]);
  });

  it("replacing a site's public key → site-key differs-from-chain, and its report is no longer vouched for", async () => {
    await sql('UPDATE site_keys SET public_key = ? WHERE key_id = ?', [
      siteKeyPair().publicKeyRaw,
      net.siteA.keyId,
    ]);
    const { found } = await disagreements();
    expect(found.map((d) => [d.kind, d.code])).toEqual([
      ['site-key', 'differs-from-chain'],
      ['report', 'envelope-invalid'],
    ]);
  });

  it('un-voiding a voided report → report revocation-undone', async () => {
    const voided = await call(cloud, 'POST', `/v1/reports/${reportId}/void`, {
      token: cloud.adminToken,
      json: { reason: 'wrong labels' },
    });
    expect(voided.status).toBe(200);
    expect((await disagreements()).ok).toBe(true);
    await sql(
      'UPDATE reports SET voided_at = NULL, void_reason = NULL, voided_by = NULL WHERE report_id = ?',
      [reportId],
    );
    const { found } = await disagreements();
    expect(found).toEqual([
      expect.objectContaining({ kind: 'report', id: reportId, code: 'revocation-undone' }),
    ]);
  });

  it('a value made unreadable (a report that is not JSON, an expiry that is not a time) → unreadable-row, the rest still checked', async () => {
    await sql("UPDATE reports SET report = 'not json' WHERE report_id = ?", [reportId]);
    await sql("UPDATE api_tokens SET expires_at = 'soon' WHERE id = ?", [revokedTokenId]);
    await sql('UPDATE campaigns SET min_cell = 1 WHERE id = ?', [net.campaign.campaignId]);
    const { found } = await disagreements();
    expect(found.map((d) => [d.kind, d.id, d.code])).toEqual([
      ['token', revokedTokenId, 'unreadable-row'],
      ['campaign', net.campaign.campaignId, 'differs-from-chain'],
      ['report', reportId, 'unreadable-row'],
    ]);
  });

  it('`cairn audit verify` exits 1 and lists each edit on its own line, with no report content', async () => {
    await sql('UPDATE api_tokens SET revoked_at = NULL WHERE id = ?', [revokedTokenId]);
    await sql('UPDATE campaigns SET min_cell = 1 WHERE id = ?', [net.campaign.campaignId]);
    const [token] = await cloud.deps.db.select().from(apiTokens).where(eq(apiTokens.id, revokedTokenId));
    expect(token?.revokedAt).toBeNull();
    const run = await runCairn(['audit', 'verify', '--data', cloud.dir]);
    expect(run.status).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines[0]).toBe('cairn: the database disagrees with the audit chain in 2 places:');
    expect(lines.slice(1)).toEqual([
      `  token ${revokedTokenId} revocation-undone: is revoked in the audit chain but valid in the database`,
      expect.stringMatching(
        new RegExp(
          `^  campaign ${net.campaign.campaignId} differs-from-chain: minCell is 1 in the database but 3 at entry #\\d+$`,
        ),
      ),
    ]);
  });
});
