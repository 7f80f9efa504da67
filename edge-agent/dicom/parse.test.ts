import { describe, expect, it } from 'vitest';
import { deflateBomb } from '../../synthetic/bomb.ts';
import { bareDataSet, makeDicom, metaEnd, TS } from './fixtures.test-util.ts';
import { parseDicom, parseDicomHeader } from './parse.ts';

function reasonOf(bytes: Uint8Array) {
  const r = parseDicom(bytes);
  return r.ok ? 'ok' : r.reason;
}

describe('parseDicom', () => {
  it('reads the header fields and exposes pixel data as a view of the input', () => {
    const bytes = makeDicom({
      sopInstanceUid: '1.2.3.4.5',
      studyInstanceUid: '1.2.3.4',
      seriesInstanceUid: '1.2.3.4.6',
      modality: 'CT',
      bodyPart: 'CHEST',
      rows: 3,
      columns: 5,
      bitsStored: 12,
      pixelRepresentation: 1,
      rescaleSlope: 2.5,
      rescaleIntercept: -1024,
    });
    const r = parseDicom(bytes);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const im = r.image;
    expect(im).toMatchObject({
      sopInstanceUid: '1.2.3.4.5',
      studyInstanceUid: '1.2.3.4',
      seriesInstanceUid: '1.2.3.4.6',
      modality: 'CT',
      bodyPart: 'CHEST',
      rows: 3,
      columns: 5,
      frames: 1,
      samplesPerPixel: 1,
      photometric: 'MONOCHROME2',
      bitsAllocated: 16,
      bitsStored: 12,
      highBit: 11,
      pixelRepresentation: 1,
      rescaleSlope: 2.5,
      rescaleIntercept: -1024,
      transferSyntaxUid: TS.explicit,
      littleEndian: true,
      encapsulated: false,
    });
    expect(im.pixelData.buffer).toBe(bytes.buffer);
    expect(im.pixelData.length).toBe(3 * 5 * 2);
  });

  it.each([
    ['implicit', TS.implicit],
    ['explicit', TS.explicit],
    ['big endian', TS.big],
    ['deflated', TS.deflated],
  ])('accepts %s VR syntax', (_name, ts) => {
    const r = parseDicom(makeDicom({ transferSyntax: ts, rows: 2, columns: 3 }));
    expect(r.ok && r.image.transferSyntaxUid).toBe(ts);
    expect(r.ok && r.image.rows * r.image.columns).toBe(6);
  });

  it('big-endian fixtures really are big-endian on disk', () => {
    const bytes = makeDicom({ transferSyntax: TS.big, rows: 0x0102, columns: 1 });
    // (0028,0010) US 2 0x0102, written big-endian: 00 28 00 10 'U' 'S' 00 02 01 02.
    const needle = [0x00, 0x28, 0x00, 0x10, 0x55, 0x53, 0x00, 0x02, 0x01, 0x02];
    const hex = (a: ArrayLike<number>) => Buffer.from(Array.from(a)).toString('hex');
    expect(hex(bytes)).toContain(hex(needle));
    const r = parseDicom(bytes);
    expect(r.ok && r.image.rows).toBe(0x0102);
  });

  it('reads bare data sets without the Part 10 preamble', () => {
    for (const ts of [TS.explicit, TS.implicit]) {
      const r = parseDicom(bareDataSet(makeDicom({ transferSyntax: ts, modality: 'CT' })));
      expect(r.ok && r.image.modality).toBe('CT');
    }
  });

  it('calls non-DICOM bytes not-dicom', () => {
    expect(reasonOf(new TextEncoder().encode('StudyInstanceUID,label\n1.2.3,1\n'))).toBe('not-dicom');
    expect(reasonOf(new Uint8Array(0))).toBe('not-dicom');
    expect(reasonOf(new Uint8Array(100))).toBe('not-dicom');
    expect(reasonOf(new Uint8Array(4096).fill(0x41))).toBe('not-dicom');
  });

  it('calls a file cut inside the pixel data truncated, in every syntax', () => {
    for (const ts of [TS.implicit, TS.explicit, TS.big, TS.deflated]) {
      const full = makeDicom({ transferSyntax: ts, rows: 16, columns: 16 });
      expect(reasonOf(full.subarray(0, full.length - 7))).toBe('truncated');
    }
  });

  it('never accepts or throws on any prefix of a file', () => {
    for (const ts of [TS.implicit, TS.explicit, TS.big]) {
      const full = makeDicom({ transferSyntax: ts, rows: 2, columns: 2 });
      for (let n = 0; n < full.length; n++) {
        const reason = reasonOf(full.subarray(0, n));
        if (n < 132) expect(reason).toBe('not-dicom');
        else expect(['truncated', 'missing-uid', 'no-pixel-data']).toContain(reason);
      }
      // Cuts strictly inside the meta group or inside an element are truncation, not a missing attribute.
      expect(reasonOf(full.subarray(0, metaEnd(full) - 3))).toBe('truncated');
    }
  });

  it('reports pixel data shorter than the header implies as truncated', () => {
    expect(reasonOf(makeDicom({ rows: 4, columns: 4, words: new Array(10).fill(1) }))).toBe('truncated');
  });

  it('maps missing pieces to their reasons', () => {
    expect(reasonOf(makeDicom({ omit: ['PixelData'] }))).toBe('no-pixel-data');
    expect(reasonOf(makeDicom({ omit: ['StudyInstanceUID'] }))).toBe('missing-uid');
    expect(reasonOf(makeDicom({ omit: ['SOPInstanceUID'] }))).toBe('missing-uid');
    expect(reasonOf(makeDicom({ omit: ['Rows'] }))).toBe('decode-error');
    // A compressed syntax whose pixel data is not encapsulated contradicts its header.
    expect(reasonOf(makeDicom({ transferSyntax: TS.jpeg2000 }))).toBe('decode-error');
    expect(reasonOf(makeDicom({ transferSyntax: '1.2.840.10008.1.2.5' }))).toBe('decode-error');
    // MPEG-4 video is not decoded.
    expect(reasonOf(makeDicom({ transferSyntax: '1.2.840.10008.1.2.4.102' }))).toBe(
      'unsupported-transfer-syntax',
    );
  });

  it('survives random bytes behind a valid preamble without throwing', () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const template = makeDicom();
    for (let trial = 0; trial < 300; trial++) {
      const bytes = template.slice();
      // Corrupt a few bytes after the preamble: lengths, tags, VRs.
      for (let k = 0; k < 4; k++)
        bytes[132 + Math.floor(rand() * (bytes.length - 132))] = Math.floor(rand() * 256);
      const r = parseDicom(bytes);
      expect(typeof r.ok).toBe('boolean');
    }
  });

  describe('deflate bombs', () => {
    const spec = { sopInstanceUid: '1.2.3.4.5', studyInstanceUid: '1.2.3.4', rows: 64, columns: 64 };

    it('refuses a data set declared 64×64 that inflates to 64 MiB, without inflating it', async () => {
      const bomb = await deflateBomb({ ...spec, inflatedBytes: 64 * 1024 * 1024 });
      expect(bomb.length).toBeLessThan(128 * 1024);
      const before = process.memoryUsage().arrayBuffers;
      expect(reasonOf(bomb)).toBe('decompression-bomb');
      // The inflation stopped at the declared 8 KiB (+ slack), far below the 64 MiB the stream holds.
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(32 * 1024 * 1024);
    });

    it('refuses a header that declares more than the absolute cap before inflating anything', async () => {
      const huge = await deflateBomb({
        ...spec,
        rows: 65535,
        columns: 65535,
        frames: 200,
        inflatedBytes: 4096,
      });
      expect(reasonOf(huge)).toBe('decompression-bomb');
    });

    it('accepts a deflated file that inflates to exactly what it declares, as a view of the inflated bytes', async () => {
      const r = parseDicom(await deflateBomb({ ...spec, inflatedBytes: 64 * 64 * 2 }));
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(r.image.pixelData.length).toBe(64 * 64 * 2);
      // No second copy: the pixel view sits in the one inflation buffer, sized by the header (+ 64 KiB slack).
      expect(r.image.pixelData.buffer.byteLength).toBeLessThan(64 * 64 * 2 + 65 * 1024 + 1024);
    });

    it('reads the header of a bomb without inflating its pixel data; the full parse then refuses it', async () => {
      const bomb = await deflateBomb({ ...spec, inflatedBytes: 64 * 1024 * 1024 });
      const header = parseDicomHeader(bomb);
      expect(header.ok && header.image).toMatchObject({
        sopInstanceUid: '1.2.3.4.5',
        rows: 64,
        pixelsDeferred: true,
        pixelData: new Uint8Array(0),
      });
      expect(reasonOf(bomb)).toBe('decompression-bomb');
      // Other syntaxes are parsed in full by the header parse (their pixels are a view, nothing expands).
      const plain = parseDicomHeader(makeDicom({ rows: 2, columns: 2 }));
      expect(plain.ok && plain.image.pixelsDeferred).toBeUndefined();
      expect(plain.ok && plain.image.pixelData.length).toBe(8);
    });

    it('accepts highly compressible pixels (a black 512×512 image) within the header allowance', async () => {
      const r = parseDicom(
        await deflateBomb({ ...spec, rows: 512, columns: 512, inflatedBytes: 512 * 512 * 2 }),
      );
      expect(r.ok && r.image.rows).toBe(512);
    });
  });
});
