import { Command, CommanderError } from 'commander';
import { CloudError } from '../client/cloud-api.ts';
import pkg from '../package.json' with { type: 'json' };
import { registerAgentCommands } from './commands/agent.ts';
import { registerAuditCommands } from './commands/audit-verify.ts';
import { registerCampaignCommands } from './commands/campaign.ts';
import { registerCloudCommands } from './commands/cloud.ts';
import { registerCriteriaCommands } from './commands/criteria.ts';
import { registerDemoCommand } from './commands/demo.ts';
import { registerModelCommands } from './commands/model.ts';
import { registerPoolCommand } from './commands/pool.ts';
import { registerRegionCommands } from './commands/region.ts';
import { registerReportCommand } from './commands/report.ts';
import { registerRolloutCommands } from './commands/rollout.ts';
import { registerSiteCommands } from './commands/site.ts';
import { registerTokenCommands } from './commands/token.ts';
import { registerVendorCommands } from './commands/vendor.ts';
import { CliError } from './errors.ts';

// `cairn … | head -1`: the reader went away, which is not an error of ours — stop quietly, no stack trace.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  });

// Registering a command loads only commander and its own file; each action imports its libraries when it
// runs, so `cairn --help` and a typo stay fast.
const program = new Command('cairn')
  .description('Cairn: evaluate clinical imaging AI on each hospital’s own patients; only aggregates leave.')
  .version(pkg.version, '-V, --version', 'print the version')
  .showHelpAfterError(false)
  .exitOverride();

registerCloudCommands(program);
registerAgentCommands(program);
registerRegionCommands(program);
registerSiteCommands(program);
registerVendorCommands(program);
registerTokenCommands(program);
registerModelCommands(program);
registerCampaignCommands(program);
registerDemoCommand(program);
registerReportCommand(program);
registerPoolCommand(program);
registerAuditCommands(program);
registerCriteriaCommands(program);
registerRolloutCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // commander already printed its one line (or help); keep its exit code.
    process.exitCode = err.exitCode;
  } else if (err instanceof CliError || err instanceof CloudError) {
    process.stderr.write(`cairn: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else {
    // Not a user error: still one line, no stack with local paths or values.
    process.stderr.write(`cairn: internal error: ${(err as Error)?.message ?? String(err)}\n`);
    if (process.env.CAIRN_DEBUG) console.error(err);
    process.exitCode = 70;
  }
}
