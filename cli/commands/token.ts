/** `cairn token create|list|revoke`: API tokens for people (admins). */
import type { Command } from 'commander';
import { print } from '../output.ts';
import { listing } from '../table.ts';
import { type ApiFlags, api, apiCommand } from './api-command.ts';

interface TokenListed {
  id: string;
  role: string;
  vendorId: string | null;
  regionIds: string[] | null;
  siteId: string | null;
  personId?: string | null;
  label: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

type CreateFlags = ApiFlags & {
  role: string;
  vendor?: string;
  regions?: string;
  person?: string;
  label: string;
  ttlHours?: string;
};

function tokenScope(t: TokenListed): string {
  if (t.vendorId) return `vendor ${t.vendorId}`;
  if (t.siteId) return `site ${t.siteId}`;
  if (t.role === 'coordinator') return t.regionIds ? `regions ${t.regionIds.join(',')}` : 'all regions';
  return '-';
}

const holderOf = (t: TokenListed) => (t.personId ? `${t.label} (person ${t.personId})` : t.label);

function tokenState(t: TokenListed): string {
  if (t.revokedAt) return `revoked ${t.revokedAt}`;
  return t.expiresAt ? `expires ${t.expiresAt}` : 'no expiry';
}

export function registerTokenCommands(program: Command): void {
  const token = program.command('token').description('API tokens for people (admins)');
  apiCommand(token, 'create', 'issue an API token with a role')
    .requiredOption('--role <role>', 'admin, coordinator or vendor')
    .option('--vendor <id>', 'the vendor a vendor token acts for')
    .option('--regions <ids>', 'comma-separated regions a coordinator token covers (all when omitted)')
    .option('--person <id>', 'the person a coordinator or admin token belongs to (four eyes count people)')
    .option('--label <text>', 'who holds it', 'cli')
    .option('--ttl-hours <h>', 'validity in hours')
    .action(async (o: CreateFlags) => {
      const r = await api(o).json<{ id: string; token: string; expiresAt: string | null }>(
        'POST',
        '/v1/tokens',
        {
          json: {
            role: o.role,
            vendorId: o.vendor,
            regionIds: o.regions?.split(',').filter(Boolean),
            personId: o.person,
            label: o.label,
            ttlHours: o.ttlHours ? Number(o.ttlHours) : undefined,
          },
        },
      );
      print(
        o.output,
        r,
        () =>
          `${r.token}\n(token ${r.id}; the secret above is shown once; ${r.expiresAt ? `expires ${r.expiresAt}` : 'no expiry'}; revoke with \`cairn token revoke --id ${r.id}\`)`,
      );
    });
  apiCommand(token, 'list', 'every API token: id, role, scope, label and state (never the secret)').action(
    async (o: ApiFlags) => {
      const r = await api(o).json<{ tokens: TokenListed[] }>('GET', '/v1/tokens');
      print(o.output, r, () =>
        listing(r.tokens.map((t) => [t.id, t.role, tokenScope(t), tokenState(t), holderOf(t)])),
      );
    },
  );
  apiCommand(token, 'revoke', 'revoke an API token at once')
    .requiredOption('--id <tokenId>', 'the token id (not the secret)')
    .action(async (o: ApiFlags & { id: string }) => {
      const r = await api(o).json('POST', `/v1/tokens/${encodeURIComponent(o.id)}/revoke`, { json: {} });
      print(o.output, r, () => `token ${o.id} revoked`);
    });
}
