import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createClient } from '@libsql/client';
import type { Command } from 'commander';
import { type ChainCheck, type StoredAuditRow, verifyAuditChain } from '../../functions/audit/chain.ts';
import { newestAuditHead } from '../../infra/operational-log.ts';
import { CliError } from '../errors.ts';
import { addOutputOption, print } from '../output.ts';

export type AuditVerification = ChainCheck;

/**
 * Recomputes the cloud's audit chain from `<dataDir>/cairn.db`, read-only (no migration, no writes), and
 * cross-checks the newest head the operational log (`logs/cloud.log` and its rotated files) saw: a chain that verifies but ends
 * before that head was cut short.
 */
export async function verifyAuditData(dataDir: string): Promise<AuditVerification> {
  const dbPath = join(dataDir, 'cairn.db');
  if (!existsSync(dbPath)) throw new CliError(`no cloud database at ${dbPath}`);
  const client = createClient({ url: `file:${dbPath}` });
  let rows: StoredAuditRow[];
  try {
    const result = await client.execute(
      'SELECT seq, at, actor, action, target, detail, prev_hash, hash FROM audit_log ORDER BY seq',
    );
    rows = result.rows.map((r) => ({
      seq: Number(r.seq),
      at: Number(r.at),
      actor: String(r.actor),
      action: String(r.action),
      target: String(r.target),
      detail: String(r.detail),
      prevHash: String(r.prev_hash),
      hash: String(r.hash),
    }));
  } catch {
    throw new CliError(`${dbPath} has no audit log (is it a Cairn cloud database?)`);
  } finally {
    client.close();
  }
  const check = verifyAuditChain(rows);
  if (!check.ok) return check;
  const logged = newestLoggedHead(join(dataDir, 'logs'));
  if (logged) {
    const row = rows.find((r) => r.seq === logged.seq);
    if (!row)
      return {
        ok: false,
        entries: rows.length,
        brokenAt: logged.seq,
        reason: `the operational log saw entry #${logged.seq}, which the database no longer has (entries were removed from the end)`,
      };
    if (row.hash !== logged.hash)
      return {
        ok: false,
        entries: rows.length,
        brokenAt: logged.seq,
        reason: 'its hash differs from the one the operational log recorded when it was written',
      };
  }
  return check;
}

/** The newest audit head in `cloud.log` and its rotated files (`cloud.log.1`, …). */
function newestLoggedHead(logDir: string): { seq: number; hash: string } | null {
  if (!existsSync(logDir)) return null;
  let newest: { seq: number; hash: string } | null = null;
  for (const name of readdirSync(logDir).filter((n) => /^cloud\.log(\.\d+)?$/.test(n))) {
    const head = newestAuditHead(join(logDir, name));
    if (head && (!newest || head.seq > newest.seq)) newest = { seq: head.seq, hash: head.hash };
  }
  return newest;
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the cloud’s hash-chained audit log (operators)');
  addOutputOption(
    audit
      .command('verify')
      .description('recompute the audit chain and name the first broken link (exit 1 when broken)')
      .option('--data <dir>', 'the folder given to `cairn cloud serve --data`', '.cairn/cloud'),
  ).action(async (o: { data: string; output: string }) => {
    const result = await verifyAuditData(resolve(o.data));
    if (result.ok) {
      print(o.output, result, () =>
        result.head
          ? `audit log intact: ${result.entries} entries; head #${result.head.seq} ${result.head.hash}`
          : 'audit log intact: no entries yet',
      );
      return;
    }
    if (o.output === 'json') print(o.output, result, () => '');
    throw new CliError(`audit log broken at entry #${result.brokenAt}: ${result.reason}`);
  });
}
