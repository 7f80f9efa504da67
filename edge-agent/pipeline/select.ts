import type { ModelManifest } from '../../schemas/model-manifest.ts';
import type { DicomImage, ImageExclusionReason } from '../dicom/parse.ts';

/**
 * Series-selection operator: does this image fall inside the model's intended use?
 *
 * Rules, in order (the first that fails names the exclusion):
 * 1. Modality (0008,0060) is one of `manifest.modality` → else 'modality-mismatch'.
 * 2. When the manifest names body parts, Body Part Examined (0018,0015) is one of them → else
 *    'body-part-mismatch' (an image without the attribute does not match: intended use must be shown, not
 *    assumed).
 * Comparison is on upper-cased, trimmed values, as DICOM defined terms are.
 */
export function selectImage(
  image: Pick<DicomImage, 'modality' | 'bodyPart'>,
  manifest: Pick<ModelManifest, 'modality' | 'bodyPart'>,
): ImageExclusionReason | undefined {
  if (!manifest.modality.includes(image.modality)) return 'modality-mismatch';
  if (manifest.bodyPart && !(image.bodyPart !== undefined && manifest.bodyPart.includes(image.bodyPart))) {
    return 'body-part-mismatch';
  }
  return undefined;
}
