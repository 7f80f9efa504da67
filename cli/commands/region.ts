/** `cairn region create|list` (coordinators, admins). */
import type { Command } from 'commander';
import { print } from '../output.ts';
import { listing } from '../table.ts';
import { type ApiFlags, api, apiCommand } from './api-command.ts';

export function registerRegionCommands(program: Command): void {
  const region = program.command('region').description('regions (coordinators, admins)');
  apiCommand(region, 'create', 'create a region')
    .requiredOption('--id <id>', 'region id, e.g. north')
    .option('--name <name>', 'display name')
    .action(async (o: ApiFlags & { id: string; name?: string }) => {
      const r = await api(o).json('POST', '/v1/regions', { json: { id: o.id, name: o.name ?? o.id } });
      print(o.output, r, () => `region ${o.id} created`);
    });
  apiCommand(region, 'list', 'regions you can see').action(async (o: ApiFlags) => {
    const r = await api(o).json<{ regions: { id: string; name: string }[] }>('GET', '/v1/regions');
    print(o.output, r, () => listing(r.regions.map((x) => [x.id, x.name])));
  });
}
