/** How HU become stored pixel values: signedness, BitsStored and the rescale the file declares. */

export interface PixelFormat {
  signed: boolean;
  bitsStored: 12 | 16;
  slope: number;
  intercept: number;
}

export function pixelFormat(signed: boolean, bitsStored?: 12 | 16): PixelFormat {
  return signed
    ? { signed: true, bitsStored: bitsStored ?? 16, slope: 1, intercept: 0 }
    : { signed: false, bitsStored: bitsStored ?? 12, slope: 1, intercept: -1024 };
}

/** HU → stored values, clamped to what BitsStored can represent. */
export function encodePixels(hu: Float32Array, fmt: PixelFormat): Uint16Array | Int16Array {
  const n = hu.length;
  const inv = 1 / fmt.slope;
  const icpt = fmt.intercept;
  if (fmt.signed) {
    const lo = -(2 ** (fmt.bitsStored - 1));
    const hi = 2 ** (fmt.bitsStored - 1) - 1;
    const out = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      const v = Math.round((hu[i]! - icpt) * inv);
      out[i] = Math.min(Math.max(v, lo), hi);
    }
    return out;
  }
  const hi = 2 ** fmt.bitsStored - 1;
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const v = Math.round((hu[i]! - icpt) * inv);
    out[i] = Math.min(Math.max(v, 0), hi);
  }
  return out;
}
