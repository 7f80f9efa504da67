/** `cairn model submit|keygen|sign|register-key|list`: vendor models and their signing keys. */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { print } from '../output.ts';
import { type ApiFlags, api, apiCommand } from './api-command.ts';

export function registerModelCommands(program: Command): void {
  const model = program.command('model').description('vendor models');
  apiCommand(model, 'submit', 'submit an ONNX model and its manifest for multi-site evaluation')
    .requiredOption('--manifest <file>', 'model manifest JSON (cairn.model/v1)')
    .requiredOption('--onnx <file>', 'the ONNX model')
    .option('--signature <file>', 'the .sig from `cairn model sign` (default: <onnx>.sig when it exists)')
    .action(async (o: ApiFlags & { manifest: string; onnx: string; signature?: string }) => {
      const { submitModel } = await import('./network.ts');
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
  registerSigningCommands(model);
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
}

/** keygen and sign run on the vendor's machine; register-key sends the public half to the cloud. */
function registerSigningCommands(model: Command): void {
  model
    .command('keygen')
    .description('make an Ed25519 model-signing key pair (the private key stays with you)')
    .requiredOption('--out <dir>', 'folder for vendor-signing-key.pem (0600) and vendor-signing-key.pub.json')
    .action(async (o: { out: string }) => {
      const { generateVendorKey } = await import('./model-signing.ts');
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
    .action(async (o: { manifest: string; onnx: string; key: string; out?: string }) => {
      const { signModel, writeSignature } = await import('./model-signing.ts');
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
      const { readPublicKeyFile } = await import('./model-signing.ts');
      const { publicKey } = readPublicKeyFile(o.publicKey);
      const r = await api(o).json<{ keyId: string }>(
        'POST',
        `/v1/vendors/${encodeURIComponent(o.vendor)}/keys`,
        { json: { publicKey } },
      );
      print(o.output, r, () => `key ${r.keyId} registered for vendor ${o.vendor}`);
    });
}
