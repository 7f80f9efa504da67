import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  exportPkcs8Pem,
  exportRawPublicKey,
  generateEd25519KeyPair,
  importEd25519PrivateKeyPem,
} from '../../crypto/ed25519.ts';
import { ModelManifest } from '../../schemas/model-manifest.ts';
import { type ModelSignature, signModelManifest, vendorKeyId } from '../../schemas/model-signature.ts';
import { CliError } from '../errors.ts';

/**
 * Vendor model signing, done on the vendor's machine: `cairn model keygen` makes an Ed25519 key pair,
 * `cairn model sign` writes a `.sig` (schemas/model-signature.ts) over the parsed manifest and the ONNX
 * sha256. The private key never goes to the cloud; only the public key is registered.
 */

export const PRIVATE_KEY_FILE = 'vendor-signing-key.pem';
export const PUBLIC_KEY_FILE = 'vendor-signing-key.pub.json';

export interface VendorPublicKeyFile {
  keyId: string;
  /** Base64 of the 32 raw Ed25519 public key bytes: what `POST /v1/vendors/:id/keys` takes. */
  publicKey: string;
}

export function generateVendorKey(
  outDir: string,
): VendorPublicKeyFile & { privateKeyPath: string; publicKeyPath: string } {
  const privateKeyPath = join(outDir, PRIVATE_KEY_FILE);
  const publicKeyPath = join(outDir, PUBLIC_KEY_FILE);
  if (existsSync(privateKeyPath) || existsSync(publicKeyPath))
    throw new CliError(`${outDir} already holds a signing key; refusing to overwrite it`);
  mkdirSync(outDir, { recursive: true, mode: 0o700 });
  const { publicKey, privateKey } = generateEd25519KeyPair();
  const raw = exportRawPublicKey(publicKey);
  const pub: VendorPublicKeyFile = { keyId: vendorKeyId(raw), publicKey: raw };
  // 'wx' with 0600: never clobber a key, never readable by others.
  writeFileSync(privateKeyPath, exportPkcs8Pem(privateKey), {
    mode: 0o600,
    flag: 'wx',
  });
  writeFileSync(publicKeyPath, `${JSON.stringify(pub, null, 2)}\n`, { flag: 'wx' });
  return { ...pub, privateKeyPath, publicKeyPath };
}

function readOrFail(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch {
    throw new CliError(`${what}: cannot read ${path}`);
  }
}

export function readPublicKeyFile(path: string): VendorPublicKeyFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readOrFail(path, 'public key').toString('utf8'));
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`public key: ${path} is not JSON`);
  }
  const pk = (parsed as { publicKey?: unknown } | null)?.publicKey;
  if (typeof pk !== 'string') throw new CliError(`public key: ${path} has no "publicKey"`);
  return { keyId: vendorKeyId(pk), publicKey: pk };
}

/** Signs a manifest + ONNX pair; the manifest is parsed exactly as the cloud will parse it. */
export function signModel(manifestPath: string, onnxPath: string, keyPath: string): ModelSignature {
  let manifestJson: unknown;
  try {
    manifestJson = JSON.parse(readOrFail(manifestPath, 'manifest').toString('utf8'));
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`manifest: ${manifestPath} is not valid JSON`);
  }
  const parsed = ModelManifest.safeParse(manifestJson);
  if (!parsed.success) throw new CliError(`manifest: ${manifestPath} is not a valid cairn.model/v1 manifest`);
  const onnxSha256 = createHash('sha256').update(readOrFail(onnxPath, 'onnx')).digest('hex');
  if (parsed.data.sha256 !== undefined && parsed.data.sha256 !== onnxSha256)
    throw new CliError('manifest: its sha256 does not match the ONNX file');
  const key = importEd25519PrivateKeyPem(readOrFail(keyPath, 'key'));
  if (!key) throw new CliError(`key: ${keyPath} is not an Ed25519 private key`);
  return signModelManifest(parsed.data, onnxSha256, key);
}

export function writeSignature(path: string, signature: ModelSignature): void {
  writeFileSync(path, `${JSON.stringify(signature, null, 2)}\n`);
}
