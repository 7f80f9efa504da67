/** What every role command (`region`, `site`, `token`, `model`, `campaign`, …) shares: the cloud, the token. */
import type { Command } from 'commander';
import { CloudApi } from '../../client/cloud-api.ts';
import { CliError } from '../errors.ts';
import { addOutputOption } from '../output.ts';

export interface ApiFlags {
  cloud: string;
  token?: string;
  output: string;
}

/** Options every role command shares: where the cloud is, who is asking, how to print. */
export function apiCommand(parent: Command, name: string, description: string): Command {
  return addOutputOption(
    parent
      .command(name)
      .description(description)
      .option(
        '--cloud <url>',
        'the cloud’s base URL (env CAIRN_CLOUD)',
        process.env.CAIRN_CLOUD ?? 'http://127.0.0.1:8787',
      )
      .option('--token <token>', 'your API token (env CAIRN_TOKEN)', process.env.CAIRN_TOKEN),
  );
}

export function api(flags: ApiFlags): CloudApi {
  if (!flags.token) throw new CliError('an API token is needed: pass --token or set CAIRN_TOKEN');
  return new CloudApi(flags.cloud, flags.token);
}
