import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { CloudApi, CloudRefusal } from '../../client/cloud-api.ts';
import type { Comparison } from '../../schemas/comparison.ts';
import { CliError } from '../errors.ts';
import { addOutputOption, print } from '../output.ts';
import { renderComparison } from '../render-comparison.ts';
import { registerCampaignCommands } from './campaign.ts';
import { registerCampaignReportCommands } from './campaign-reports.ts';
import { generateVendorKey, readPublicKeyFile, signModel, writeSignature } from './model-signing.ts';

interface ApiFlags {
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

function tokenScope(t: TokenListed): string {
  if (t.vendorId) return `vendor ${t.vendorId}`;
  if (t.siteId) return `site ${t.siteId}`;
  if (t.role === 'coordinator') return t.regionIds ? `regions ${t.regionIds.join(',')}` : 'all regions';
  return '-';
}

function tokenState(t: TokenListed): string {
  if (t.revokedAt) return `revoked ${t.revokedAt}`;
  return t.expiresAt ? `expires ${t.expiresAt}` : 'no expiry';
}

/** Rows as aligned columns (two spaces apart); one line saying so when there are none. */
function table<T>(rows: T[], cells: (row: T) => string[]): string {
  if (rows.length === 0) return '(none)';
  const lines = rows.map(cells);
  const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
  return lines
    .map((l) => l.map((c, i) => (i < l.length - 1 ? c.padEnd(widths[i]!) : c)).join('  '))
    .join('\n');
}

function readFileOrFail(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    throw new CliError(`${what}: cannot read ${path}`);
  }
}

export function registerNetworkCommands(program: Command): void {
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
    print(o.output, r, () => table(r.regions, (x) => [x.id, x.name]));
  });

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
      print(o.output, shown, () => table(shown.sites, (x) => [x.id, x.regionId, x.name]));
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
    print(o.output, r, () => table(r.vendors, (x) => [x.id, x.name]));
  });

  const token = program.command('token').description('API tokens for people (admins)');
  apiCommand(token, 'create', 'issue an API token with a role')
    .requiredOption('--role <role>', 'admin, coordinator or vendor')
    .option('--vendor <id>', 'the vendor a vendor token acts for')
    .option('--regions <ids>', 'comma-separated regions a coordinator token covers (all when omitted)')
    .option('--person <id>', 'the person a coordinator or admin token belongs to (four eyes count people)')
    .option('--label <text>', 'who holds it', 'cli')
    .option('--ttl-hours <h>', 'validity in hours')
    .action(
      async (
        o: ApiFlags & {
          role: string;
          vendor?: string;
          regions?: string;
          person?: string;
          label: string;
          ttlHours?: string;
        },
      ) => {
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
      },
    );

  apiCommand(token, 'list', 'every API token: id, role, scope, label and state (never the secret)').action(
    async (o: ApiFlags) => {
      const r = await api(o).json<{ tokens: TokenListed[] }>('GET', '/v1/tokens');
      const holder = (t: TokenListed) => (t.personId ? `${t.label} (person ${t.personId})` : t.label);
      print(o.output, r, () =>
        table(r.tokens, (t) => [t.id, t.role, tokenScope(t), tokenState(t), holder(t)]),
      );
    },
  );
  apiCommand(token, 'revoke', 'revoke an API token at once')
    .requiredOption('--id <tokenId>', 'the token id (not the secret)')
    .action(async (o: ApiFlags & { id: string }) => {
      const r = await api(o).json('POST', `/v1/tokens/${encodeURIComponent(o.id)}/revoke`, { json: {} });
      print(o.output, r, () => `token ${o.id} revoked`);
    });

  const model = program.command('model').description('vendor models');
  apiCommand(model, 'submit', 'submit an ONNX model and its manifest for multi-site evaluation')
    .requiredOption('--manifest <file>', 'model manifest JSON (cairn.model/v1)')
    .requiredOption('--onnx <file>', 'the ONNX model')
    .option('--signature <file>', 'the .sig from `cairn model sign` (default: <onnx>.sig when it exists)')
    .action(async (o: ApiFlags & { manifest: string; onnx: string; signature?: string }) => {
      const sig = o.signature ?? (existsSync(`${o.onnx}.sig`) ? `${o.onnx}.sig` : undefined);
      const r = await submitModel(api(o), o.manifest, o.onnx, sig);
      print(
        o.output,
        r,
        () =>
          `model ${r.modelId} submitted, sha256 ${r.sha256} pinned` +
          (r.signingKeyId ? `, signature verified (${r.signingKeyId})` : ', unsigned'),
      );
    });
  model
    .command('keygen')
    .description('make an Ed25519 model-signing key pair (the private key stays with you)')
    .requiredOption('--out <dir>', 'folder for vendor-signing-key.pem (0600) and vendor-signing-key.pub.json')
    .action((o: { out: string }) => {
      const k = generateVendorKey(o.out);
      process.stdout.write(
        `key ${k.keyId}
private: ${k.privateKeyPath} (keep it secret)
public:  ${k.publicKeyPath} ` + '(register it: cairn model register-key)\n',
      );
    });
  model
    .command('sign')
    .description('sign a manifest + ONNX pair; writes a .sig JSON')
    .requiredOption('--manifest <file>', 'model manifest JSON (cairn.model/v1)')
    .requiredOption('--onnx <file>', 'the ONNX model')
    .requiredOption('--key <file>', 'the private key from `cairn model keygen`')
    .option('--out <file>', 'where to write the signature (default: <onnx>.sig)')
    .action((o: { manifest: string; onnx: string; key: string; out?: string }) => {
      const signature = signModel(o.manifest, o.onnx, o.key);
      const out = o.out ?? `${o.onnx}.sig`;
      writeSignature(out, signature);
      process.stdout.write(`signed with ${signature.keyId}: ${out}\n`);
    });
  apiCommand(
    model,
    'register-key',
    "register your vendor's public signing key (then unsigned submissions are refused)",
  )
    .requiredOption('--vendor <id>', 'vendor id')
    .requiredOption('--public-key <file>', 'vendor-signing-key.pub.json from `cairn model keygen`')
    .action(async (o: ApiFlags & { vendor: string; publicKey: string }) => {
      const { publicKey } = readPublicKeyFile(o.publicKey);
      const r = await api(o).json<{ keyId: string }>(
        'POST',
        `/v1/vendors/${encodeURIComponent(o.vendor)}/keys`,
        {
          json: { publicKey },
        },
      );
      print(o.output, r, () => `key ${r.keyId} registered for vendor ${o.vendor}`);
    });
  apiCommand(model, 'list', 'models you can see').action(async (o: ApiFlags) => {
    const r = await api(o).json<{
      models: { modelId: string; manifest: { vendor: string; name: string; version: string } }[];
    }>('GET', '/v1/models');
    print(o.output, r, () =>
      r.models
        .map((m) => `${m.modelId}  ${m.manifest.vendor}/${m.manifest.name} ${m.manifest.version}`)
        .join('\n'),
    );
  });

  const campaign = program.command('campaign').description('evaluation campaigns (coordinators)');
  apiCommand(campaign, 'create', 'evaluate model versions at sites')
    .requiredOption('--name <name>', 'campaign name')
    .requiredOption('--models <ids>', 'comma-separated model ids')
    .requiredOption('--sites <ids>', 'comma-separated site ids')
    .option('--bins <n>', 'histogram bins on [0,1]', '20')
    .option('--min-cell <k>', 'minimum released cell size', '5')
    .option('--subgroups <names>', 'extra subgroup attributes every site reports (labels.csv columns)')
    .action(
      async (
        o: ApiFlags & {
          name: string;
          models: string;
          sites: string;
          bins: string;
          minCell: string;
          subgroups?: string;
        },
      ) => {
        const r = await api(o).json<{ campaignId: string; jobs: unknown[] }>('POST', '/v1/campaigns', {
          json: {
            name: o.name,
            modelIds: o.models.split(','),
            siteIds: o.sites.split(','),
            bins: Number(o.bins),
            minCell: Number(o.minCell),
            ...(o.subgroups ? { subgroupAttributes: o.subgroups.split(',').filter(Boolean) } : {}),
          },
        });
        print(o.output, r, () => `campaign ${r.campaignId} created with ${r.jobs.length} jobs`);
      },
    );
  apiCommand(campaign, 'compare', 'per site, per region and overall performance of each model version')
    .requiredOption('--campaign <id>', 'campaign id')
    .action(async (o: ApiFlags & { campaign: string }) => {
      const r = await api(o).json<Comparison>(
        'GET',
        `/v1/campaigns/${encodeURIComponent(o.campaign)}/comparison`,
      );
      print(o.output, r, () => renderComparison(r));
    });
  registerCampaignReportCommands(campaign, apiCommand, api);
  registerCampaignCommands(campaign, apiCommand, api);
}

/**
 * Submits a model. Where the cloud offers direct uploads (on AWS: the API's body limit is 6 MB), the bytes go
 * to the blob store through a presigned PUT and the API only sees the manifest; a cloud that keeps models
 * itself (the embedded one) or predates direct uploads takes the multipart body.
 */
export async function submitModel(
  client: CloudApi,
  manifestPath: string,
  onnxPath: string,
  signaturePath?: string,
): Promise<{ modelId: string; sha256: string; signingKeyId?: string | null }> {
  const manifestText = readFileOrFail(manifestPath, 'manifest').toString('utf8');
  let manifest: unknown;
  try {
    manifest = JSON.parse(manifestText);
  } catch {
    throw new CliError(`manifest: ${manifestPath} is not valid JSON`);
  }
  const onnx = readFileOrFail(onnxPath, 'onnx');
  const signatureText = signaturePath
    ? readFileOrFail(signaturePath, 'signature').toString('utf8')
    : undefined;
  const upload = await startDirectUpload(client, onnx.byteLength);
  if (upload) {
    let signature: unknown;
    if (signatureText !== undefined) {
      try {
        signature = JSON.parse(signatureText);
      } catch {
        throw new CliError(`signature: ${signaturePath} is not valid JSON`);
      }
    }
    await client.putPresigned(upload.url, onnx);
    return client.json('POST', `/v1/models/uploads/${encodeURIComponent(upload.uploadId)}/complete`, {
      json: { manifest, ...(signature !== undefined ? { signature } : {}) },
    });
  }
  const form = new FormData();
  form.set('manifest', manifestText);
  form.set('onnx', new Blob([onnx]), basename(onnxPath));
  if (signatureText !== undefined) form.set('signature', signatureText);
  return client.json('POST', '/v1/models', { form });
}

/** A presigned upload for `size` bytes, or null when the cloud takes models in the request body only. */
async function startDirectUpload(
  client: CloudApi,
  size: number,
): Promise<{ uploadId: string; url: string } | null> {
  try {
    return await client.json('POST', '/v1/models/uploads', { json: { size } });
  } catch (err) {
    const unavailable =
      err instanceof CloudRefusal &&
      (err.code === 'direct-upload-unavailable' || (err.status === 404 && err.code === 'route-not-found'));
    if (unavailable) return null;
    throw err;
  }
}
