/** Cairn's statistics: dependency-free, each function checked against R / Python reference implementations. */

export * from './across-sites.ts';
export * from './binomial.ts';
export * from './bivariate.ts';
export * from './calibration.ts';
export * from './confusion.ts';
export * from './histogram.ts';
export * from './meta.ts';
export * from './normal.ts';
export * from './roc.ts';
export * from './special.ts';
export * from './t.ts';
