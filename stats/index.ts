/** Cairn's statistics: dependency-free, each function checked against R / Python reference implementations. */
export * from './binomial.ts';
export * from './confusion.ts';
export * from './histogram.ts';
export * from './meta.ts';
export * from './normal.ts';
export * from './roc.ts';
export * from './special.ts';
