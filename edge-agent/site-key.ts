import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import type { CloudApi } from '../client/cloud-api.ts';
import { generateSiteKeyPair } from './identity.ts';
import { rotateKey } from './key-rotation.ts';
import { identity } from './state/schema.ts';
import type { AgentDb } from './state/store.ts';

/**
 * Key rotation that survives a lost answer. The cloud retires the old key in the same transaction as it
 * registers the new one, so the new private key is written to `<state>/pending-key.json` (0600) before the
 * request goes out; if the answer never arrives, the next rotation or `agent run` asks the cloud which of
 * the site's keys is current and adopts the pending one when it is.
 */
const pendingPath = (stateDir: string) => join(stateDir, 'pending-key.json');

interface PendingKey {
  publicKeyRaw: string;
  privateKeyPkcs8: string;
}

export async function rotateSiteKey(
  db: AgentDb,
  api: Pick<CloudApi, 'json'>,
  stateDir: string,
): Promise<{ keyId: string; retiredKeyId: string; rotatedAt: string }> {
  await recoverPendingRotation(db, api, stateDir);
  const me = await db.select().from(identity).get();
  if (!me) throw new Error('not enrolled');
  const fresh = generateSiteKeyPair();
  writeFileSync(pendingPath(stateDir), JSON.stringify(fresh), { mode: 0o600 });
  const rotated = await rotateKey(
    api,
    { siteId: me.siteId, keyId: me.keyId, privateKeyPkcs8: me.privateKey },
    new Date(),
    fresh,
  );
  await adopt(db, rotated.keyId, fresh);
  rmSync(pendingPath(stateDir), { force: true });
  return { keyId: rotated.keyId, retiredKeyId: rotated.retiredKeyId, rotatedAt: rotated.rotatedAt };
}

/**
 * Settles a rotation whose answer was lost: adopts the pending key if the cloud holds it as the site's current
 * key, and forgets it otherwise (the rotation never happened). Returns the adopted key id, if any.
 */
export async function recoverPendingRotation(
  db: AgentDb,
  api: Pick<CloudApi, 'json'>,
  stateDir: string,
): Promise<string | undefined> {
  if (!existsSync(pendingPath(stateDir))) return undefined;
  const pending = JSON.parse(readFileSync(pendingPath(stateDir), 'utf8')) as PendingKey;
  const me = await db.select().from(identity).get();
  if (!me) return undefined;
  const { keys } = await api.json<{ keys: { keyId: string; publicKey: string; revokedAt: string | null }[] }>(
    'GET',
    `/v1/sites/${encodeURIComponent(me.siteId)}/keys`,
  );
  const registered = keys.find((k) => k.publicKey === pending.publicKeyRaw && k.revokedAt === null);
  if (registered) await adopt(db, registered.keyId, pending);
  rmSync(pendingPath(stateDir), { force: true });
  return registered?.keyId;
}

async function adopt(db: AgentDb, keyId: string, key: PendingKey): Promise<void> {
  await db
    .update(identity)
    .set({ keyId, publicKey: key.publicKeyRaw, privateKey: key.privateKeyPkcs8 })
    .where(eq(identity.id, 1));
}
