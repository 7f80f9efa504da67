import { type Dataset, ds, num, PRIVATE_CREATOR, PRIVATE_GROUP, pn, str } from './part10.ts';
import type { PhiValues } from './phi.ts';
import type { PixelFormat } from './pixels.ts';

/** What one synthetic image file is: its identity, geometry, pixel format and the study's PHI. */
export interface ImageParams {
  sopClassUid: string;
  sopInstanceUid: string;
  modality: 'CT' | 'MR';
  bodyPart: string;
  phi: PhiValues;
  manufacturer: string;
  scannerModel: string;
  seriesNumber: number;
  instanceNumber: number;
  size: number;
  pixelSpacing: number;
  sliceThickness: number;
  sliceLocation: number;
  kvp: number;
  window: { center: number[]; width: number[] };
  fmt: PixelFormat;
  /** Omitted for the no-pixel-data case. */
  pixels?: Uint16Array | Int16Array;
  seriesDescription: string;
}

/** Every attribute that carries the study's PHI (the private block's value included). */
function phiElements(phi: PhiValues): Dataset {
  return {
    '00080020': str('DA', phi.StudyDate),
    '00080021': str('DA', phi.SeriesDate),
    '00080022': str('DA', phi.AcquisitionDate),
    '00080023': str('DA', phi.ContentDate),
    '00080030': str('TM', phi.StudyTime),
    '00080031': str('TM', phi.SeriesTime),
    '00080032': str('TM', phi.AcquisitionTime),
    '00080033': str('TM', phi.ContentTime),
    '00080050': str('SH', phi.AccessionNumber),
    '00080080': str('LO', phi.InstitutionName),
    '00080081': str('ST', phi.InstitutionAddress),
    '00080090': pn(phi.ReferringPhysicianName),
    '00081010': str('SH', phi.StationName),
    '00081030': str('LO', phi.StudyDescription),
    '00081050': pn(phi.PerformingPhysicianName),
    '00081070': pn(phi.OperatorsName),
    [`${PRIVATE_GROUP}1010`]: str('LO', phi.PrivatePatientString),
    '00100010': pn(phi.PatientName),
    '00100020': str('LO', phi.PatientID),
    '00100030': str('DA', phi.PatientBirthDate),
    '00100040': str('CS', phi.PatientSex),
    '00101000': str('LO', phi.OtherPatientIDs),
    '00101010': str('AS', phi.PatientAge),
    '00181000': str('LO', phi.DeviceSerialNumber),
    '0020000D': str('UI', phi.StudyInstanceUID),
    '0020000E': str('UI', phi.SeriesInstanceUID),
    '00200010': str('SH', phi.StudyID),
    '00200052': str('UI', phi.FrameOfReferenceUID),
  };
}

/** The acquisition attributes only a CT or only an MR image has. */
function modalityElements(p: ImageParams): Dataset {
  const d: Dataset = {};
  if (p.modality === 'CT') {
    d['00180060'] = num('DS', p.kvp);
    d['00181210'] = str('SH', 'STANDARD');
    d['00281054'] = str('LO', 'HU');
  } else {
    d['00180020'] = str('CS', 'SE');
    d['00180021'] = str('CS', 'NONE');
    d['00180022'] = str('CS', 'SAT1');
    d['00180023'] = str('CS', '2D');
    d['00180091'] = num('IS', 1);
    d['00180080'] = num('DS', 500);
    d['00180081'] = num('DS', 15);
    d['00180087'] = num('DS', 1.5);
  }
  return d;
}

/** The data set of one image file (the pixels omitted when `pixels` is). */
export function imageDataset(p: ImageParams): Dataset {
  const half = (p.size * p.pixelSpacing) / 2;
  const d: Dataset = {
    // dcmjs writes strings as UTF-8, so that is the character set to declare (ISO_IR 100 would be Latin-1).
    '00080005': str('CS', 'ISO_IR 192'),
    '00080008':
      p.modality === 'CT'
        ? str('CS', 'ORIGINAL', 'PRIMARY', 'AXIAL')
        : str('CS', 'ORIGINAL', 'PRIMARY', 'M', 'ND'),
    '00080016': str('UI', p.sopClassUid),
    '00080018': str('UI', p.sopInstanceUid),
    '00080060': str('CS', p.modality),
    '00080070': str('LO', p.manufacturer),
    '0008103E': str('LO', p.seriesDescription),
    '00081090': str('LO', p.scannerModel),
    [`${PRIVATE_GROUP}0010`]: str('LO', PRIVATE_CREATOR),
    '00180015': str('CS', p.bodyPart),
    '00180050': num('DS', ds(p.sliceThickness)),
    '00185100': str('CS', 'HFS'),
    '00200011': num('IS', p.seriesNumber),
    '00200012': num('IS', 1),
    '00200013': num('IS', p.instanceNumber),
    '00200032': num('DS', ds(-half), ds(-half), ds(p.sliceLocation)),
    '00200037': num('DS', 1, 0, 0, 0, 1, 0),
    '00201040': str('LO', 'SN'),
    '00201041': num('DS', ds(p.sliceLocation)),
    '00280002': num('US', 1),
    '00280004': str('CS', 'MONOCHROME2'),
    '00280010': num('US', p.size),
    '00280011': num('US', p.size),
    '00280030': num('DS', ds(p.pixelSpacing), ds(p.pixelSpacing)),
    '00280100': num('US', 16),
    '00280101': num('US', p.fmt.bitsStored),
    '00280102': num('US', p.fmt.bitsStored - 1),
    '00280103': num('US', p.fmt.signed ? 1 : 0),
    '00281050': num('DS', ...p.window.center),
    '00281051': num('DS', ...p.window.width),
    '00281052': num('DS', p.fmt.intercept),
    '00281053': num('DS', p.fmt.slope),
    ...phiElements(p.phi),
    ...modalityElements(p),
  };
  if (p.pixels) {
    const px = p.pixels;
    d['7FE00010'] = { vr: 'OW', Value: [px.buffer.slice(px.byteOffset, px.byteOffset + px.byteLength)] };
  }
  return d;
}
