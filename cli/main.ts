import { Command, CommanderError } from 'commander';
import pkg from '../package.json' with { type: 'json' };
import { registerAgentCommands } from './commands/agent.ts';
import { registerAuditCommands } from './commands/audit.ts';
import { registerCloudCommands } from './commands/cloud.ts';
import { registerDemoCommand } from './commands/demo.ts';
import { registerNetworkCommands } from './commands/network.ts';
import { registerPoolCommand } from './commands/pool.ts';
import { registerReportCommand } from './commands/report.ts';
import { registerRolloutCommands } from './commands/rollout.ts';
import { CliError } from './errors.ts';

// `cairn … | head -1`: the reader went away, which is not an error of ours — stop quietly, no stack trace.
for (const stream of [process.stdout, process.stderr])
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
  });

const program = new Command('cairn')
  .description('Cairn: evaluate clinical imaging AI on each hospital’s own patients; only aggregates leave.')
  .version(pkg.version, '-V, --version', 'print the version')
  .showHelpAfterError(false)
  .exitOverride();

registerCloudCommands(program);
registerAgentCommands(program);
registerNetworkCommands(program);
registerDemoCommand(program);
registerReportCommand(program);
registerPoolCommand(program);
registerAuditCommands(program);
registerRolloutCommands(program);

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
