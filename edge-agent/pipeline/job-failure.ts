export type JobFailureCode =
  | 'model-load-failed'
  | 'inference-failed'
  | 'input-too-large-for-memory-budget'
  | 'no-cases'
  | 'labels-unreadable'
  | 'dicom-folder-unreadable';

export class JobFailure extends Error {
  constructor(
    readonly code: JobFailureCode,
    detail?: string,
  ) {
    super(detail ?? code);
  }
}
