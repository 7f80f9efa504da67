import { z } from 'zod';

/**
 * Why an input did not become part of the evaluation. A closed list on purpose: exception messages can carry
 * file names or header values (PHI), so only these names ever leave the site.
 *
 * Image-level reasons count files; study-level reasons count studies.
 */
export const IMAGE_EXCLUSION_REASONS = [
  'not-dicom', // no DICM preamble and not parseable as DICOM
  'truncated', // DICOM stream ends inside an element
  'unreadable', // other parse failure
  'unreadable-file', // the file could not be read at all (permissions, I/O error, vanished)
  'no-pixel-data',
  'unsupported-transfer-syntax',
  'unsupported-pixel-format', // e.g. bit depth or photometric interpretation the decoder does not handle
  'missing-uid', // no StudyInstanceUID or SOPInstanceUID
  'duplicate-instance', // a SOPInstanceUID already seen in this run
  'modality-mismatch', // not one of the manifest's modalities
  'body-part-mismatch', // not one of the manifest's body parts
  'decode-error', // pixel data present but inconsistent with its header
  'decompression-bomb', // deflate or a codec would expand past what the header declares, or past the cap
  'pixel-data-size-mismatch', // a frame's bitstream, its decoded output or the file is not the header's size
  'inference-error',
  'view-mismatch', // View Position not one of the manifest's (when the manifest names views)
  'image-type-mismatch', // Image Type lacks a value the manifest requires (e.g. ORIGINAL)
] as const;

export const STUDY_EXCLUSION_REASONS = [
  'no-label', // images used, but the study is not in labels.csv
  'invalid-label', // labels.csv row with a label other than 0 or 1
  'conflicting-label', // the study is listed more than once in labels.csv with different labels
] as const;

export const ExclusionReason = z.enum([...IMAGE_EXCLUSION_REASONS, ...STUDY_EXCLUSION_REASONS]);
export type ExclusionReason = z.infer<typeof ExclusionReason>;
export type ExclusionCounts = Partial<Record<ExclusionReason, number>>;
