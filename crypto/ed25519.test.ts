import { describe, expect, it } from 'vitest';
import {
  exportPkcs8Der,
  exportPkcs8Pem,
  exportRawPublicKey,
  generateEd25519KeyPair,
  importEd25519PrivateKeyPem,
  importPkcs8Der,
  importRawPublicKey,
  signEd25519,
  verifyEd25519,
} from './ed25519.ts';

const data = new TextEncoder().encode('cairn');

describe('Ed25519 keys in their wire and storage forms', () => {
  it('a raw public key round-trips and verifies what the private key signed, after PKCS#8 and PEM', () => {
    const { publicKey, privateKey } = generateEd25519KeyPair();
    const raw = exportRawPublicKey(publicKey);
    expect(Buffer.from(raw, 'base64')).toHaveLength(32);
    expect(exportRawPublicKey(privateKey)).toBe(raw);
    const imported = importRawPublicKey(raw)!;
    expect(verifyEd25519(data, imported, signEd25519(data, importPkcs8Der(exportPkcs8Der(privateKey))))).toBe(
      true,
    );
    const fromPem = importEd25519PrivateKeyPem(exportPkcs8Pem(privateKey))!;
    expect(verifyEd25519(data, imported, signEd25519(data, fromPem))).toBe(true);
  });

  it('a signature by another key, over other bytes, or malformed does not verify', () => {
    const a = generateEd25519KeyPair();
    const b = generateEd25519KeyPair();
    const sig = signEd25519(data, a.privateKey);
    expect(verifyEd25519(data, b.publicKey, sig)).toBe(false);
    expect(verifyEd25519(new TextEncoder().encode('cairn!'), a.publicKey, sig)).toBe(false);
    expect(verifyEd25519(data, a.publicKey, 'AAAA')).toBe(false);
  });

  it('text that is not a 32-byte key, and a PEM that is not Ed25519, import as null', () => {
    expect(importRawPublicKey('not a key')).toBeNull();
    expect(importRawPublicKey(Buffer.alloc(31).toString('base64'))).toBeNull();
    expect(
      importEd25519PrivateKeyPem('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n'),
    ).toBeNull();
  });
});
