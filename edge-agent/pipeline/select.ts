import type { ModelManifest } from '../../schemas/model-manifest.ts';
import type { DicomImage, ImageExclusionReason } from '../dicom/parse.ts';

/**
 * Series-selection operator: does this image fall inside the model's intended use?
 *
 * Rules, in order (the first that fails names the exclusion):
 * 1. Modality (0008,0060) is one of `manifest.modality` → else 'modality-mismatch'.
 * 2. When the manifest names body parts, Body Part Examined (0018,0015) is one of them → else
 *    'body-part-mismatch'.
 * 3. When the manifest names views, View Position (0018,5101) is one of them → else 'view-mismatch'.
 * 4. When the manifest names image types, Image Type (0008,0008) carries every one of them (e.g. ORIGINAL)
 *    → else 'image-type-mismatch'.
 * An image without the attribute a rule needs does not match: intended use must be shown, not assumed.
 * Comparison is on upper-cased, trimmed values, as DICOM defined terms are.
 */
export function selectImage(
  image: Pick<DicomImage, 'modality' | 'bodyPart'> & Partial<Pick<DicomImage, 'viewPosition' | 'imageType'>>,
  manifest: Pick<ModelManifest, 'modality' | 'bodyPart'> &
    Partial<Pick<ModelManifest, 'viewPosition' | 'imageType'>>,
): ImageExclusionReason | undefined {
  if (!manifest.modality.includes(image.modality)) return 'modality-mismatch';
  if (manifest.bodyPart && !(image.bodyPart !== undefined && manifest.bodyPart.includes(image.bodyPart))) {
    return 'body-part-mismatch';
  }
  if (
    manifest.viewPosition &&
    !(image.viewPosition !== undefined && manifest.viewPosition.includes(image.viewPosition))
  ) {
    return 'view-mismatch';
  }
  if (manifest.imageType && !manifest.imageType.every((t) => (image.imageType ?? []).includes(t))) {
    return 'image-type-mismatch';
  }
  return undefined;
}
