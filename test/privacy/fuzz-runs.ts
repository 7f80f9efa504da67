import { decideHeldReport, listHeldReports } from '../../edge-agent/review/review.ts';
import { type AgentEvents, runAgent } from '../../edge-agent/run.ts';
import { openAgentState } from '../../edge-agent/state/store.ts';
import { runCairn } from '../support/cli-runner.ts';
import type { FuzzWorld, SiteRun } from './fuzz-world.ts';

/** One agent run: the last set's site b as the hospital runs it (the CLI, whose output is searched too). */
async function runOnce(w: FuzzWorld, s: SiteRun): Promise<void> {
  if (s.viaCli) {
    const r = await runCairn(['agent', 'run', '--once', '--state', s.stateDir]);
    w.haystacks.add(`stdout of cairn agent run --once (${s.id})`, r.raw.stdout, true);
    w.haystacks.add(`stderr of cairn agent run --once (${s.id})`, r.raw.stderr, true);
    if (r.status !== 0) throw new Error(`cairn agent run exited ${r.status}: ${r.stderr}`);
    return;
  }
  const events: unknown[] = [];
  const record =
    (name: string) =>
    (e: unknown): void => {
      events.push({ name, e });
    };
  const listeners: AgentEvents = {
    jobStarted: record('jobStarted'),
    progress: record('progress'),
    jobFinished: record('jobFinished'),
    flushed: record('flushed'),
    offline: record('offline'),
  };
  s.outcomes = await runAgent({ stateDir: s.stateDir, once: true, events: listeners });
  w.haystacks.add(`agent events of ${s.id}`, JSON.stringify(events), true);
}

/** A site admin reads each held report (at site a through the CLI, whose review is searched too) and approves it. */
async function approveHeld(w: FuzzWorld, s: SiteRun): Promise<void> {
  if (s.id.endsWith('a')) {
    const review = await runCairn(['agent', 'review', '--state', s.stateDir]);
    w.haystacks.add(`stdout of cairn agent review (${s.id})`, review.raw.stdout, true);
    w.haystacks.add(`stderr of cairn agent review (${s.id})`, review.raw.stderr, true);
    const held = JSON.parse(
      (await runCairn(['agent', 'review', '--state', s.stateDir, '--output', 'json'])).stdout,
    ) as { reportId: string }[];
    for (const h of held) {
      const r = await runCairn(['agent', 'review', '--approve', h.reportId, '--state', s.stateDir]);
      if (r.status !== 0) throw new Error(`cairn agent review --approve exited ${r.status}: ${r.stderr}`);
    }
    return;
  }
  const state = await openAgentState(s.stateDir);
  try {
    for (const h of await listHeldReports(state.db)) await decideHeldReport(state.db, h.reportId, 'approve');
  } finally {
    state.close();
  }
}

/** Ingest is asynchronous: waits until every job of every campaign is done. */
async function waitForIngest(w: FuzzWorld): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (const c of w.campaigns)
    for (;;) {
      const view = await w.coordinator.json<{ jobs: { status: string }[] }>('GET', `/v1/campaigns/${c.id}`);
      if (view.jobs.every((j) => j.status === 'done')) break;
      if (Date.now() > deadline) throw new Error(`campaign of set ${c.set}: jobs not done within 30 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
}

/** Every agent runs once; held reports are approved and sent on a second run; the cloud ingests them all. */
export async function runAgents(w: FuzzWorld): Promise<void> {
  for (const s of w.sites) await runOnce(w, s);
  for (const s of w.sites.filter((x) => x.plan.held)) {
    await approveHeld(w, s);
    await runAgent({ stateDir: s.stateDir, once: true });
  }
  await waitForIngest(w);
  w.runSeconds = (Date.now() - w.started) / 1000;
}
