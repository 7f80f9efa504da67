import type { Rng } from './rng.ts';

/**
 * A 2-D chest CT phantom in Hounsfield units. The anatomy is deliberately crude, but it has what makes nodule
 * detection non-trivial for a small CNN: lung fields bounded by bright chest wall and mediastinum, bright vessel
 * cross-sections inside the lungs that look like tiny nodules, juxtapleural nodules that merge with the wall,
 * and scanner noise.
 *
 * Geometry is defined at 128 px and scaled, so other image sizes give the same picture.
 */

export const HU = {
  air: -1000,
  fat: -100,
  softTissue: 40,
  blood: 45,
  bone: 700,
  lung: -850,
} as const;

export interface Ellipse {
  cx: number;
  cy: number;
  a: number;
  b: number;
}

/** One patient's chest, fixed across the slices of a study. */
export interface ChestAnatomy {
  size: number;
  body: Ellipse;
  fatThickness: number;
  lungs: [Ellipse, Ellipse];
  heart: Ellipse;
  lungHu: number;
  spine: { cx: number; cy: number; r: number };
  aorta: { cx: number; cy: number; r: number };
}

export interface Nodule {
  /** Which lung (0 = image left) and where, in pixels. */
  lung: 0 | 1;
  x: number;
  y: number;
  /** Radius in pixels on the slice through its centre. */
  radius: number;
  hu: number;
  /** Index of the slice through the nodule centre. */
  centreSlice: number;
  /** Slice spacing expressed in pixels, for the cross-section radius on neighbouring slices. */
  sliceSpacingPx: number;
  /** Touches the chest wall or mediastinum. */
  juxtapleural: boolean;
}

export function makeAnatomy(rng: Rng, size: number): ChestAnatomy {
  const k = size / 128;
  const body: Ellipse = {
    cx: (64 + rng.range(-3, 3)) * k,
    cy: (66 + rng.range(-3, 3)) * k,
    a: rng.range(54, 60) * k,
    b: rng.range(40, 46) * k,
  };
  const lungA = body.a * rng.range(0.33, 0.37);
  const lungB = body.b * rng.range(0.68, 0.74);
  const lungDx = body.a * rng.range(0.44, 0.47);
  const lungCy = body.cy - body.b * rng.range(0.02, 0.08);
  const lungs: [Ellipse, Ellipse] = [
    { cx: body.cx - lungDx, cy: lungCy, a: lungA * rng.range(0.95, 1.05), b: lungB },
    { cx: body.cx + lungDx, cy: lungCy, a: lungA * rng.range(0.95, 1.05), b: lungB },
  ];
  return {
    size,
    body,
    fatThickness: rng.range(3, 7) * k,
    lungs,
    // The heart sits anterior and to the patient's left (image right), carving into that lung.
    heart: {
      cx: body.cx + body.a * rng.range(0.1, 0.16),
      cy: body.cy - body.b * rng.range(0.05, 0.15),
      a: body.a * rng.range(0.24, 0.28),
      b: body.b * rng.range(0.3, 0.36),
    },
    lungHu: rng.range(-880, -800),
    spine: { cx: body.cx, cy: body.cy + body.b * 0.68, r: body.b * rng.range(0.16, 0.19) },
    aorta: { cx: body.cx - body.a * 0.1, cy: body.cy + body.b * 0.38, r: body.b * rng.range(0.1, 0.13) },
  };
}

function inEllipse(e: Ellipse, x: number, y: number, shrink = 0): boolean {
  const a = e.a - shrink;
  const b = e.b - shrink;
  if (a <= 0 || b <= 0) return false;
  const dx = (x - e.cx) / a;
  const dy = (y - e.cy) / b;
  return dx * dx + dy * dy <= 1;
}

/** True when (x, y) is lung parenchyma, at least `margin` px inside the lung boundary. */
export function inLung(an: ChestAnatomy, lung: 0 | 1, x: number, y: number, margin = 0): boolean {
  return inEllipse(an.lungs[lung], x, y, margin) && !inEllipse(an.heart, x, y, -margin);
}

function fillEllipse(img: Float32Array, size: number, e: Ellipse, hu: number): void {
  const x0 = Math.max(0, Math.floor(e.cx - e.a));
  const x1 = Math.min(size - 1, Math.ceil(e.cx + e.a));
  const y0 = Math.max(0, Math.floor(e.cy - e.b));
  const y1 = Math.min(size - 1, Math.ceil(e.cy + e.b));
  const ia2 = 1 / (e.a * e.a);
  const ib2 = 1 / (e.b * e.b);
  for (let y = y0; y <= y1; y++) {
    const dy2 = (y + 0.5 - e.cy) * (y + 0.5 - e.cy) * ib2;
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - e.cx;
      if (dx * dx * ia2 + dy2 <= 1) img[y * size + x] = hu;
    }
  }
}

/** Lung parenchyma: the lung ellipse minus the heart. */
function fillLung(img: Float32Array, an: ChestAnatomy, lung: 0 | 1, scale: number): void {
  const { size } = an;
  const base = an.lungs[lung];
  const e: Ellipse = { cx: base.cx, cy: base.cy, a: base.a * scale, b: base.b * scale };
  const h = an.heart;
  const x0 = Math.max(0, Math.floor(e.cx - e.a));
  const x1 = Math.min(size - 1, Math.ceil(e.cx + e.a));
  const y0 = Math.max(0, Math.floor(e.cy - e.b));
  const y1 = Math.min(size - 1, Math.ceil(e.cy + e.b));
  for (let y = y0; y <= y1; y++) {
    const py = y + 0.5;
    const ey = (py - e.cy) / e.b;
    const hy = (py - h.cy) / h.b;
    for (let x = x0; x <= x1; x++) {
      const px = x + 0.5;
      const ex = (px - e.cx) / e.a;
      if (ex * ex + ey * ey > 1) continue;
      const hx = (px - h.cx) / h.a;
      if (hx * hx + hy * hy <= 1) continue;
      img[y * size + x] = an.lungHu;
    }
  }
}

/**
 * A round bright structure with a Gaussian profile (vessels, partial-volume dots) added on top of whatever is
 * there, only where the pixel is lung, so vessels end at the pleura.
 */
function addGaussianDot(
  img: Float32Array,
  size: number,
  cx: number,
  cy: number,
  sigma: number,
  peakHu: number,
  floorHu: number,
): void {
  const reach = Math.ceil(sigma * 3);
  const x0 = Math.max(0, Math.floor(cx) - reach);
  const x1 = Math.min(size - 1, Math.floor(cx) + reach);
  const y0 = Math.max(0, Math.floor(cy) - reach);
  const y1 = Math.min(size - 1, Math.floor(cy) + reach);
  const inv = 1 / (2 * sigma * sigma);
  for (let y = y0; y <= y1; y++) {
    const dy = y + 0.5 - cy;
    for (let x = x0; x <= x1; x++) {
      const i = y * size + x;
      const v = img[i]!;
      if (v > floorHu) continue;
      const dx = x + 0.5 - cx;
      const w = Math.exp(-(dx * dx + dy * dy) * inv);
      img[i] = v + (peakHu - v) * w;
    }
  }
}

/** A solid disc with a one-pixel partial-volume rim, drawn over lung and wall alike. */
function addDisc(img: Float32Array, size: number, cx: number, cy: number, r: number, hu: number): void {
  const x0 = Math.max(0, Math.floor(cx - r - 1));
  const x1 = Math.min(size - 1, Math.ceil(cx + r + 1));
  const y0 = Math.max(0, Math.floor(cy - r - 1));
  const y1 = Math.min(size - 1, Math.ceil(cy + r + 1));
  for (let y = y0; y <= y1; y++) {
    const dy = y + 0.5 - cy;
    for (let x = x0; x <= x1; x++) {
      const dx = x + 0.5 - cx;
      const d = Math.sqrt(dx * dx + dy * dy);
      const w = d <= r - 0.5 ? 1 : d >= r + 0.5 ? 0 : r + 0.5 - d;
      if (w <= 0) continue;
      const i = y * size + x;
      const v = img[i]!;
      // Only brighten: a nodule touching the wall must not darken the wall.
      if (hu > v) img[i] = v + (hu - v) * w;
    }
  }
}

export interface SliceOptions {
  /** Slice index within the study, to place the nodule cross-section. */
  slice: number;
  /** Lungs are a little larger or smaller from slice to slice. */
  lungScale: number;
  noiseHu: number;
  nodule?: Nodule;
  /** How vessel-rich the lungs are; hard negatives come from the larger vessels. */
  vessels?: { perLung: [number, number]; largeProbability: number };
}

/** Cross-section radius of a spherical nodule on a given slice (0 when the slice misses it). */
export function noduleRadiusOnSlice(n: Nodule, slice: number): number {
  const dz = (slice - n.centreSlice) * n.sliceSpacingPx;
  const r2 = n.radius * n.radius - dz * dz;
  return r2 > 0 ? Math.sqrt(r2) : 0;
}

export function renderSlice(rng: Rng, an: ChestAnatomy, opts: SliceOptions): Float32Array {
  const { size } = an;
  const k = size / 128;
  const img = new Float32Array(size * size).fill(HU.air);
  fillEllipse(img, size, an.body, HU.fat);
  const muscle: Ellipse = {
    cx: an.body.cx,
    cy: an.body.cy,
    a: an.body.a - an.fatThickness,
    b: an.body.b - an.fatThickness,
  };
  fillEllipse(img, size, muscle, HU.softTissue);
  // Ribs: bone just inside the muscle wall, before the lungs so the lungs never hide their own boundary.
  const ribs = 14;
  for (let i = 0; i < ribs; i++) {
    const t = (2 * Math.PI * (i + 0.5)) / ribs;
    // No ribs over the sternum and the spine.
    if (Math.abs(Math.sin(t)) > 0.93) continue;
    const rx = muscle.cx + (muscle.a - 3.5 * k) * Math.cos(t);
    const ry = muscle.cy + (muscle.b - 3.5 * k) * Math.sin(t);
    fillEllipse(img, size, { cx: rx, cy: ry, a: 2.2 * k, b: 1.6 * k }, HU.bone);
  }
  fillLung(img, an, 0, opts.lungScale);
  fillLung(img, an, 1, opts.lungScale);
  fillEllipse(img, size, { cx: an.spine.cx, cy: an.spine.cy, a: an.spine.r, b: an.spine.r }, HU.bone);
  fillEllipse(
    img,
    size,
    { cx: an.spine.cx, cy: an.spine.cy + an.spine.r * 1.3, a: an.spine.r * 0.45, b: an.spine.r * 0.45 },
    HU.softTissue - 20,
  );
  fillEllipse(img, size, { cx: an.aorta.cx, cy: an.aorta.cy, a: an.aorta.r, b: an.aorta.r }, HU.blood);

  const vessels = opts.vessels ?? { perLung: [3, 9], largeProbability: 0.12 };
  for (const lung of [0, 1] as const) {
    const e = an.lungs[lung];
    const n = rng.int(vessels.perLung[0], vessels.perLung[1]);
    const large = rng.bernoulli(vessels.largeProbability) ? 1 : 0;
    for (let v = 0; v < n + large; v++) {
      // Vessels are denser towards the hilum (the medial side of each lung).
      let x = 0;
      let y = 0;
      for (let tries = 0; tries < 20; tries++) {
        const medial = lung === 0 ? 1 : -1;
        x = e.cx + e.a * (rng.range(-1, 1) * 0.8 + medial * 0.25 * rng.uniform());
        y = e.cy + e.b * rng.range(-0.85, 0.85);
        if (inLung(an, lung, x, y, 1.5 * k)) break;
      }
      const isLarge = v >= n;
      const sigma = (isLarge ? rng.range(1.3, 2.2) : 0.45 + 0.9 * rng.uniform() ** 2) * k;
      const peak = isLarge ? rng.range(-60, 40) : rng.range(-350, 0);
      addGaussianDot(img, size, x, y, sigma, peak, -300);
    }
  }

  const nod = opts.nodule;
  if (nod) {
    const r = noduleRadiusOnSlice(nod, opts.slice);
    if (r >= 0.8 * k) addDisc(img, size, nod.x, nod.y, r, nod.hu);
  }

  if (opts.noiseHu > 0) {
    const sd = opts.noiseHu;
    for (let i = 0; i < img.length; i++) img[i] = img[i]! + rng.normal(0, sd);
  }
  return img;
}

/**
 * Place a nodule of the given radius inside a lung. About one in seven is juxtapleural (touching the chest wall or
 * mediastinum), which a detector looking for an isolated bright blob will find harder.
 */
export function placeNodule(
  rng: Rng,
  an: ChestAnatomy,
  radius: number,
  hu: number,
  slices: number,
  sliceSpacingPx: number,
): Nodule {
  const juxtapleural = rng.bernoulli(0.15);
  const margin = juxtapleural ? radius * 0.3 : radius + 1;
  for (let tries = 0; tries < 200; tries++) {
    const lung: 0 | 1 = rng.bernoulli(0.5) ? 0 : 1;
    const e = an.lungs[lung];
    const x = e.cx + e.a * rng.range(-1, 1);
    const y = e.cy + e.b * rng.range(-1, 1);
    if (!inLung(an, lung, x, y, margin)) continue;
    if (juxtapleural && inLung(an, lung, x, y, radius + 1)) continue;
    return { lung, x, y, radius, hu, centreSlice: rng.int(0, slices - 1), sliceSpacingPx, juxtapleural };
  }
  // A very small lung and a very large nodule: fall back to the lung centre.
  const lung: 0 | 1 = rng.bernoulli(0.5) ? 0 : 1;
  const e = an.lungs[lung];
  return {
    lung,
    x: e.cx,
    y: e.cy,
    radius,
    hu,
    centreSlice: rng.int(0, slices - 1),
    sliceSpacingPx,
    juxtapleural: false,
  };
}
