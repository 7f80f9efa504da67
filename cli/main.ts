import { Command, CommanderError } from 'commander';
import { registerAgentCommands } from './commands/agent.ts';
import { registerAuditCommands } from './commands/audit.ts';
import { registerCloudCommands } from './commands/cloud.ts';
import { registerDemoCommand } from './commands/demo.ts';
import { registerNetworkCommands } from './commands/network.ts';
import { registerPoolCommand } from './commands/pool.ts';
import { registerReportCommand } from './commands/report.ts';
import { CliError } from './errors.ts';

const program = new Command('cairn')
  .description('Cairn: evaluate clinical imaging AI on each hospital’s own patients; only aggregates leave.')
  .showHelpAfterError(false)
  .exitOverride();

registerCloudCommands(program);
registerAgentCommands(program);
registerNetworkCommands(program);
registerDemoCommand(program);
registerReportCommand(program);
registerPoolCommand(program);
registerAuditCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // commander already printed its one line (or help); keep its exit code.
    process.exitCode = err.exitCode;
  } else if (err instanceof CliError) {
    process.stderr.write(`cairn: ${err.message}\n`);
    process.exitCode = err.exitCode;
  } else {
    // Not a user error: still one line, no stack with local paths or values.
    process.stderr.write(`cairn: internal error: ${(err as Error)?.message ?? String(err)}\n`);
    if (process.env.CAIRN_DEBUG) console.error(err);
    process.exitCode = 70;
  }
}
