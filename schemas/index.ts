export * from './common.ts';
export * from './comparison.ts';
export * from './envelope.ts';
export * from './exclusion-reasons.ts';
export * from './job.ts';
export * from './model-manifest.ts';
export * from './scenario.ts';
export * from './site-report.ts';
