/** `cairn site create|list|enrollment-token|revoke-key` (coordinators, admins). */
import type { Command } from 'commander';
import { print } from '../output.ts';
import { listing } from '../table.ts';
import { type ApiFlags, api, apiCommand } from './api-command.ts';

export function registerSiteCommands(program: Command): void {
  const site = program.command('site').description('hospital sites (coordinators, admins)');
  apiCommand(site, 'create', 'register a hospital site in a region')
    .requiredOption('--id <id>', 'site id')
    .requiredOption('--region <id>', 'region id')
    .option('--name <name>', 'display name')
    .action(async (o: ApiFlags & { id: string; region: string; name?: string }) => {
      const r = await api(o).json('POST', '/v1/sites', {
        json: { id: o.id, regionId: o.region, name: o.name ?? o.id },
      });
      print(o.output, r, () => `site ${o.id} created in region ${o.region}`);
    });
  apiCommand(site, 'list', 'sites you can see, with their regions')
    .option('--region <id>', 'only this region')
    .action(async (o: ApiFlags & { region?: string }) => {
      const r = await api(o).json<{ sites: { id: string; regionId: string; name: string }[] }>(
        'GET',
        '/v1/sites',
      );
      const shown = { sites: r.sites.filter((x) => !o.region || x.regionId === o.region) };
      print(o.output, shown, () => listing(shown.sites.map((x) => [x.id, x.regionId, x.name])));
    });
  apiCommand(site, 'enrollment-token', 'issue a one-time, expiring enrollment token for a site’s agent')
    .requiredOption('--site <id>', 'site id')
    .option('--ttl-hours <h>', 'validity in hours', '24')
    .action(async (o: ApiFlags & { site: string; ttlHours: string }) => {
      const r = await api(o).json<{ token: string; expiresAt: string }>(
        'POST',
        `/v1/sites/${encodeURIComponent(o.site)}/enrollment-tokens`,
        { json: { ttlHours: Number(o.ttlHours) } },
      );
      print(
        o.output,
        r,
        () =>
          `${r.token}\n(one use, expires ${r.expiresAt}; give it to the site's IT over a trusted channel)`,
      );
    });
  apiCommand(site, 'revoke-key', 'revoke a site’s signing key (a stolen server, a departed admin)')
    .requiredOption('--site <id>', 'site id')
    .requiredOption('--key <keyId>', 'the key to revoke (see the site’s `cairn agent status`)')
    .action(async (o: ApiFlags & { site: string; key: string }) => {
      const r = await api(o).json(
        'POST',
        `/v1/sites/${encodeURIComponent(o.site)}/keys/${encodeURIComponent(o.key)}/revoke`,
        { json: {} },
      );
      print(o.output, r, () => `key ${o.key} of site ${o.site} revoked; its reports are refused from now on`);
    });
}
