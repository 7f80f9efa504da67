import { readFileSync } from 'node:fs';
import { runCairn } from '../support/cli-runner.ts';
import { filesUnder } from '../support/files.ts';
import { agentRows, type FuzzWorld } from './fuzz-world.ts';

/** Runs `cairn …` and adds what it printed; `local`: on the hospital's own machine, where folder names may show. */
async function cli(w: FuzzWorld, args: string[], local: boolean): Promise<void> {
  const r = await runCairn(args);
  const shown = args.map((a) => (a.length > 40 ? '…' : a)).join(' ');
  w.haystacks.add(`stdout of cairn ${shown}`, r.raw.stdout, local);
  w.haystacks.add(`stderr of cairn ${shown}`, r.raw.stderr, local);
  if (r.status !== 0) throw new Error(`cairn ${shown} exited ${r.status}: ${r.stderr}`);
}

/** What the people's CLI shows while the cloud serves. */
export async function collectCliOutput(w: FuzzWorld): Promise<void> {
  const first = w.sites[0]!;
  const compare = ['campaign', 'compare', '--campaign', w.campaigns[0]!.id, '--cloud', w.cloud.url];
  await cli(w, [...compare, '--token', w.tokens.coordinator], false);
  await cli(w, ['agent', 'status', '--state', first.stateDir], true);
  for (const s of w.sites.filter((x) => x.plan.columns.length > 0 && x.set % 2 === 0))
    await cli(w, ['agent', 'status', '--state', s.stateDir], true);
  await cli(w, ['agent', 'sent', '--state', first.stateDir, '--limit', '100'], true);
}

/**
 * The cloud's storage while it runs (the WAL holds recent writes) and after it stopped (checkpointed), what
 * the operator's audit check prints, every byte on the wire, and every body each agent logged as sent or
 * keeps in its outbox. Stops the proxy and the cloud.
 */
export async function collectStorageAndWire(w: FuzzWorld): Promise<void> {
  for (const file of filesUnder(w.cloudDir))
    w.haystacks.add(`cloud data ${file.slice(w.root.length)}`, readFileSync(file));
  await w.proxy.close();
  await w.cloud.close();
  for (const file of filesUnder(w.cloudDir))
    w.haystacks.add(`cloud data after close ${file.slice(w.root.length)}`, readFileSync(file));
  await cli(w, ['audit', 'verify', '--data', w.cloudDir], false);

  for (const [n, x] of w.proxy.exchanges.entries()) {
    w.haystacks.add(`wire #${n} ${x.method} ${x.url} request`, x.request);
    w.haystacks.add(`wire #${n} ${x.method} ${x.url} response ${x.status}`, x.response);
  }
  for (const s of w.sites) {
    const rows = await agentRows(s.stateDir);
    for (const r of rows.sent) {
      const body = r.body ? Buffer.from(String(r.body), 'base64') : Buffer.alloc(0);
      w.haystacks.add(
        `${s.id} sent log #${r.id} ${r.method} ${r.url}`,
        Buffer.concat([Buffer.from(`${r.url}\n`), body]),
      );
      if (body.length) {
        const parsed = JSON.parse(body.toString('utf8')) as { payload?: string };
        if (parsed.payload)
          w.haystacks.add(
            `${s.id} sent log #${r.id} envelope payload`,
            Buffer.from(parsed.payload, 'base64'),
          );
      }
    }
    for (const r of rows.outbox)
      w.haystacks.add(`${s.id} outbox report ${r.report_id} (${r.status})`, String(r.report));
  }
}
