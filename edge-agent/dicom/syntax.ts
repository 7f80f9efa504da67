/** The transfer syntaxes this agent reads, and the codec of each encapsulated one. */

export const TRANSFER_SYNTAX = {
  implicitLittle: '1.2.840.10008.1.2',
  explicitLittle: '1.2.840.10008.1.2.1',
  deflatedExplicitLittle: '1.2.840.10008.1.2.1.99',
  explicitBig: '1.2.840.10008.1.2.2',
} as const;

/** Pixel codecs for encapsulated syntaxes (decode.ts maps each to a WASM decoder). */
export type PixelCodec = 'rle' | 'jpeg' | 'jpeg-ls' | 'jpeg2000';

/**
 * Encapsulated (compressed) syntaxes this build decodes, by codec. JPEG 2000 part 15 (HTJ2K) goes through the
 * same OpenJPEG decoder as part 1. MPEG/HEVC video and JPEG XL are not listed: they end as
 * 'unsupported-transfer-syntax'.
 */
export const ENCAPSULATED_TRANSFER_SYNTAXES: ReadonlyMap<string, PixelCodec> = new Map([
  ['1.2.840.10008.1.2.5', 'rle'],
  ['1.2.840.10008.1.2.4.50', 'jpeg'], // baseline (process 1)
  ['1.2.840.10008.1.2.4.51', 'jpeg'], // extended (process 2 & 4, 12-bit)
  ['1.2.840.10008.1.2.4.57', 'jpeg'], // lossless (process 14)
  ['1.2.840.10008.1.2.4.70', 'jpeg'], // lossless SV1
  ['1.2.840.10008.1.2.4.80', 'jpeg-ls'],
  ['1.2.840.10008.1.2.4.81', 'jpeg-ls'], // near-lossless
  ['1.2.840.10008.1.2.4.90', 'jpeg2000'],
  ['1.2.840.10008.1.2.4.91', 'jpeg2000'],
  ['1.2.840.10008.1.2.4.201', 'jpeg2000'], // HTJ2K lossless
  ['1.2.840.10008.1.2.4.202', 'jpeg2000'], // HTJ2K lossless RPCL
  ['1.2.840.10008.1.2.4.203', 'jpeg2000'], // HTJ2K
] as const);

export const SUPPORTED_TRANSFER_SYNTAXES: ReadonlySet<string> = new Set([
  ...Object.values(TRANSFER_SYNTAX),
  ...ENCAPSULATED_TRANSFER_SYNTAXES.keys(),
]);
