import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { normaliseToken } from '../../edge-agent/report/attributes.ts';
import { Rng } from '../../synthetic/rng.ts';
import { asciiJson, CanaryScanner, type Hit, isLatin1 } from './canary-scanner.ts';
import { CanaryFactory } from './phi-canaries.ts';

describe('PHI canary scanner', () => {
  it('the scanner finds a canary in every encoding it claims to search (so it can fail)', () => {
    const f = new CanaryFactory(new Rng(7));
    const name = f.text('PatientName', 'self-test');
    const address = f.text('InstitutionAddress', 'self-test');
    f.generated('20190312', 'StudyDate', 'self-test');
    f.generated('2.25.123456789012345678901234567890', 'StudyInstanceUID', 'self-test');
    const scanner = new CanaryScanner(f.all.values());
    const find = (bytes: Buffer | string) => {
      const hits: Hit[] = [];
      scanner.scan('self-test', typeof bytes === 'string' ? Buffer.from(bytes) : bytes, hits);
      return new Set(hits.map((h) => h.canary.value));
    };
    const leaks: [string, Buffer | string, string][] = [
      ['raw', `x${name}y`, name],
      ['JSON', JSON.stringify({ a: address }), address],
      ['JSON ASCII', asciiJson(address), address],
      ['Latin-1', Buffer.from([...name].map((ch) => (isLatin1(ch) ? ch : '?')).join(''), 'latin1'), name],
      ['normalised token', normaliseToken(name), name],
      [
        'base64 in JSON',
        JSON.stringify({ payload: Buffer.from(`{"n":"${name}"}`).toString('base64') }),
        name,
      ],
      ['hex', Buffer.from(address).toString('hex'), address],
      ['gzip', Buffer.concat([Buffer.from('head'), gzipSync(address)]), address],
      ['UTF-16', Buffer.from(`..${name}..`, 'utf16le'), name],
      ['date', 'born 20190312.', '20190312'],
      ['UID digits', 'uid=123456789012345678901234567890;', '2.25.123456789012345678901234567890'],
    ];
    for (const [form, haystack, value] of leaks) expect(find(haystack).has(value), form).toBe(true);
    // A date inside a longer number is not a leak (floats in the statistics would match by chance).
    expect(find('0.2019031288 and 120190312').size).toBe(0);
    expect(find(JSON.stringify({ ok: true, n: 'nothing here', f: 0.20190312 }))).toEqual(new Set());
  });
});
