/** `cairn vendor create|list` (admins). */
import type { Command } from 'commander';
import { print } from '../output.ts';
import { listing } from '../table.ts';
import { type ApiFlags, api, apiCommand } from './api-command.ts';

export function registerVendorCommands(program: Command): void {
  const vendor = program.command('vendor').description('model vendors (admins)');
  apiCommand(vendor, 'create', 'register a vendor organisation')
    .requiredOption('--id <id>', 'vendor id')
    .option('--name <name>', 'display name')
    .action(async (o: ApiFlags & { id: string; name?: string }) => {
      const r = await api(o).json('POST', '/v1/vendors', { json: { id: o.id, name: o.name ?? o.id } });
      print(o.output, r, () => `vendor ${o.id} created`);
    });
  apiCommand(vendor, 'list', 'registered vendors').action(async (o: ApiFlags) => {
    const r = await api(o).json<{ vendors: { id: string; name: string }[] }>('GET', '/v1/vendors');
    print(o.output, r, () => listing(r.vendors.map((x) => [x.id, x.name])));
  });
}
