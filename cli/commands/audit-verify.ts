/** `cairn audit verify`: the cloud's audit chain and tables checked against each other (verifyAuditData). */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../errors.ts';
import { addOutputOption, print } from '../output.ts';

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the cloud’s hash-chained audit log (operators)');
  addOutputOption(
    audit
      .command('verify')
      .description(
        'recompute the audit chain, compare the security state and every stored report with it, and name each disagreement (exit 1 if any)',
      )
      .option('--data <dir>', 'the folder given to `cairn cloud serve --data`', '.cairn/cloud'),
  ).action(async (o: { data: string; output: string }) => {
    const { verifyAuditData } = await import('../../functions/audit/verify-data.ts');
    const result = await verifyAuditData(resolve(o.data));
    const c = result.checked;
    const checked = `${c.tokens} tokens, ${c.siteKeys} site keys, ${c.vendorKeys} vendor keys, ${c.models} models, ${c.campaigns} campaigns, ${c.reports} signed reports and ${c.rolloutEvents} rollout decisions agree with it`;
    if (result.ok) {
      print(o.output, result, () =>
        result.head
          ? `audit log intact: ${result.entries} entries; head #${result.head.seq} ${result.head.hash}; ${checked}`
          : `audit log intact: no entries yet; ${checked}`,
      );
      return;
    }
    if (o.output === 'json') print(o.output, result, () => '');
    const lines = [
      ...(result.brokenAt === undefined
        ? []
        : [`audit log broken at entry #${result.brokenAt}: ${result.reason}`]),
      ...(result.disagreements.length
        ? [
            `the database disagrees with the audit chain in ${result.disagreements.length} place${result.disagreements.length === 1 ? '' : 's'}:`,
          ]
        : []),
      ...result.disagreements.map((d) => `  ${d.kind} ${d.id} ${d.code}: ${d.problem}`),
    ];
    throw new CliError(lines.join('\n'));
  });
}
