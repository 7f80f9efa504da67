import { createHmac } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CloudApi, CloudRefusal } from '../client/cloud-api.ts';
import { type NoticedRollout, RolloutList, RolloutNotice } from '../schemas/rollout.ts';

/**
 * What the agent knows of the rollouts in its region, learnt on every poll (GET /v1/rollouts with the site's
 * token), and the notices it owes the hospital's own systems: each change of state becomes one signed JSON
 * notice to the optional local webhook (agent.json `rolloutWebhook`); one that was not delivered is sent
 * again on the next poll, in order. Kept in `<state>/rollouts.json`: ids, versions and states only.
 */

/** A rollout as last learnt, with its number of events (which makes each notice's id). */
export type KnownRollout = NoticedRollout & { events: number };

interface NoticeStore {
  rollouts: KnownRollout[];
  undelivered: RolloutNotice[];
  /** When the states were last learnt from the cloud. */
  learntAt: string | null;
}

export interface RolloutWebhook {
  url: string;
  secret: string;
}

/** The header that carries the signature: `sha256=` and the HMAC-SHA256 of the exact body, in hex. */
export const SIGNATURE_HEADER = 'x-cairn-signature';

export const signNotice = (body: string, secret: string) =>
  `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;

const storePath = (stateDir: string) => join(stateDir, 'rollouts.json');

export function readKnownRollouts(stateDir: string): NoticeStore {
  const file = storePath(stateDir);
  const empty: NoticeStore = { rollouts: [], undelivered: [], learntAt: null };
  if (!existsSync(file)) return empty;
  try {
    return { ...empty, ...(JSON.parse(readFileSync(file, 'utf8')) as NoticeStore) };
  } catch {
    // A file cut short (a full disk): the states are learnt again on this poll; no run stops for it.
    return empty;
  }
}

function writeStore(stateDir: string, store: NoticeStore): void {
  // Written aside and renamed, so a crash leaves the old file or the new one, never half of one.
  const file = storePath(stateDir);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(store, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

export interface RolloutSync {
  /** Changes seen on this poll. */
  changed: number;
  delivered: number;
  /** Notices still owed to the webhook (retried on the next poll). */
  waiting: number;
}

/** Learns the region's rollout states, notes each change as a notice, and delivers what is owed. */
export async function syncRolloutNotices(
  api: CloudApi,
  stateDir: string,
  siteId: string,
  webhook: RolloutWebhook | undefined,
): Promise<RolloutSync> {
  const store = readKnownRollouts(stateDir);
  const fresh = await learnRollouts(api);
  let changed = 0;
  if (fresh) {
    const known = new Map(store.rollouts.map((r) => [`${r.modelId}@${r.regionId}`, r]));
    for (const r of fresh) {
      const before = known.get(`${r.modelId}@${r.regionId}`);
      if (before?.state === r.state || (!before && r.state === 'evaluating')) continue;
      changed++;
      const { events, ...rollout } = r;
      if (webhook)
        // Parsed against the closed schema: nothing but what it names goes to the hospital's systems.
        store.undelivered.push(
          RolloutNotice.parse({
            schema: 'cairn.rollout-notice/v1',
            noticeId: `${r.modelId}@${r.regionId}#${events}`,
            siteId,
            rollout,
            from: before?.state ?? null,
            to: r.state,
          }),
        );
    }
    store.rollouts = fresh;
    store.learntAt = new Date().toISOString();
  }
  const delivered = webhook ? await deliver(store, webhook) : 0;
  writeStore(stateDir, store);
  return { changed, delivered, waiting: store.undelivered.length };
}

/** The states in this site's region; null when the cloud cannot tell (one without rollouts answers 404). */
async function learnRollouts(api: CloudApi): Promise<KnownRollout[] | null> {
  let raw: unknown;
  try {
    raw = await api.json('GET', '/v1/rollouts');
  } catch (err) {
    if (err instanceof CloudRefusal) return null;
    throw err;
  }
  const parsed = RolloutList.safeParse(raw);
  if (!parsed.success) return null;
  return parsed.data.rollouts.map((r) => ({
    modelId: r.modelId,
    regionId: r.regionId,
    vendor: r.vendor,
    name: r.name,
    version: r.version,
    modelSha256: r.modelSha256,
    state: r.state,
    concession: r.concession,
    events: r.events,
    changedAt: r.changedAt,
  }));
}

/** Posts the owed notices in order and stops at the first that fails: the rest wait for the next poll. */
async function deliver(store: NoticeStore, webhook: RolloutWebhook): Promise<number> {
  let delivered = 0;
  while (store.undelivered.length > 0) {
    const body = JSON.stringify(store.undelivered[0]);
    try {
      const res = await fetch(webhook.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signNotice(body, webhook.secret) },
        body,
        signal: AbortSignal.timeout(10_000),
      });
      await res.body?.cancel();
      if (!res.ok) break;
    } catch {
      break;
    }
    store.undelivered.shift();
    delivered++;
  }
  return delivered;
}
