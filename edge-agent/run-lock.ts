import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../client/errors.ts';
import { takePidLock } from '../infra/pid-lock.ts';

export const runLockPath = (stateDir: string) => join(stateDir, 'agent-run.pid');

/**
 * One `agent run` per state directory: two loops on one state would pull, claim and flush the same jobs and
 * outbox. A lock left by a run that was killed is taken over (infra/pid-lock.ts). Returns the release.
 */
export function acquireRunLock(stateDir: string): () => void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = runLockPath(stateDir);
  const lock = takePidLock(path);
  if (lock.ok) return lock.release;
  throw new UserError(
    `another \`cairn agent run\` (pid ${lock.holder}) is using this state directory (lock ${path}): stop it first, or give this run another --state`,
  );
}
