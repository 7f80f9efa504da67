import { CloudApi } from '../client/cloud-api.ts';
import { UserError } from '../client/errors.ts';
import { type AgentSettings, planSettings, writeSettings } from './config.ts';
import { generateSiteKeyPair } from './identity.ts';
import { labelsWarnings, readLabelsFile } from './labels.ts';
import { logSentBytes } from './sent-log.ts';
import { identity } from './state/schema.ts';
import { openAgentState } from './state/store.ts';
import { AGENT_VERSION } from './version.ts';

export interface EnrollResult {
  siteId: string;
  regionId: string;
  keyId: string;
  /** Row problems of a usable labels.csv (their studies are excluded at every run), one line each. */
  warnings: string[];
}

/**
 * Enrolls this agent with the cloud: makes the site's Ed25519 key pair here, sends only the public key with
 * the one-time enrollment token, and keeps the private key and the issued site token in the local state.
 */
export async function enrollAgent(opts: {
  stateDir: string;
  cloudUrl: string;
  token: string;
  settings: AgentSettings;
}): Promise<EnrollResult> {
  const problems = planSettings(opts.settings);
  if (problems.length) throw new UserError(`cannot enroll: ${problems.join('; ')}`);
  // The same parser every run uses: a file no run could use stops enrollment before the token is spent.
  let labels: ReturnType<typeof readLabelsFile>;
  try {
    labels = readLabelsFile(opts.settings.labels);
  } catch (err) {
    throw new UserError(`cannot enroll: ${(err as Error).message}`);
  }
  const state = await openAgentState(opts.stateDir);
  try {
    const existing = await state.db.select().from(identity).get();
    if (existing)
      throw new UserError(
        `this agent is already enrolled as site ${existing.siteId}; use another --state folder to enroll again`,
      );
    const keys = generateSiteKeyPair();
    const api = new CloudApi(opts.cloudUrl, undefined, logSentBytes(state.db));
    const res = await api.json<{ siteId: string; regionId: string; keyId: string; apiToken: string }>(
      'POST',
      '/v1/enroll',
      { json: { token: opts.token, publicKey: keys.publicKeyRaw, agentVersion: AGENT_VERSION } },
    );
    await state.db.insert(identity).values({
      id: 1,
      cloudUrl: opts.cloudUrl,
      siteId: res.siteId,
      regionId: res.regionId,
      keyId: res.keyId,
      publicKey: keys.publicKeyRaw,
      privateKey: keys.privateKeyPkcs8,
      apiToken: res.apiToken,
      enrolledAt: new Date().toISOString(),
    });
    writeSettings(opts.stateDir, opts.settings);
    return { siteId: res.siteId, regionId: res.regionId, keyId: res.keyId, warnings: labelsWarnings(labels) };
  } finally {
    state.close();
  }
}
