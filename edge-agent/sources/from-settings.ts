import type { AgentSettings } from '../config.ts';
import { dicomWebSource } from './dicomweb.ts';
import { folderSource } from './folder.ts';
import type { ImageSource } from './source.ts';

/** The image source the settings name; modalities for QIDO come from the job's manifest when given. */
export function sourceFromSettings(settings: AgentSettings, modalities?: string[]): ImageSource {
  if (settings.dicomweb) {
    const auth = process.env.CAIRN_DICOMWEB_AUTHORIZATION;
    return dicomWebSource({
      url: settings.dicomweb.url,
      ...(settings.dicomweb.studyDateFrom ? { studyDateFrom: settings.dicomweb.studyDateFrom } : {}),
      ...(settings.dicomweb.studyDateTo ? { studyDateTo: settings.dicomweb.studyDateTo } : {}),
      ...(modalities ? { modalities } : {}),
      ...(auth ? { headers: { authorization: auth } } : {}),
    });
  }
  if (!settings.dicom) throw new Error('settings: no image source');
  return folderSource(settings.dicom);
}
