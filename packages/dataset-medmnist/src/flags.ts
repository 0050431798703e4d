import type { Task } from '@medssl/spec';

/**
 * Facts about every MedMNIST flag, after `medmnist/info.py` of MedMNIST 3.0.2 (GitHub MedMNIST/MedMNIST,
 * commit 3bb56be): class names, task kind, channels, split sizes and the MD5 sums of the files on Zenodo
 * record 10519652 (MedMNIST v2 at 28x28 plus the MedMNIST+ sizes 64, 128 and 224). The tasks are those of
 * MedMNIST v2; the primary metric follows the task (binary `auc`, multiclass `accuracy`, ordinal `kappa`,
 * multilabel `mean_auc`).
 */

/** Image sizes published: 28 (MedMNIST v2) and the MedMNIST+ sizes. 3D flags have 28 and 64 only. */
export type MedmnistSize = 28 | 64 | 128 | 224;

export const MEDMNIST_SIZES: readonly MedmnistSize[] = [28, 64, 128, 224];

export type MedmnistTaskKind = 'binary' | 'multiclass' | 'ordinal' | 'multilabel';

export interface MedmnistFlagInfo {
  readonly flag: string;
  readonly title: string;
  /** 2 for images, 3 for the volume datasets (which medssl does not read). */
  readonly dimensions: 2 | 3;
  readonly kind: MedmnistTaskKind;
  /** Class names (label names for ChestMNIST) in label-index order, as `info.py` gives them. */
  readonly names: readonly string[];
  readonly channels: 1 | 3;
  /** Samples per split in the files of record 10519652. */
  readonly counts: { readonly train: number; readonly val: number; readonly test: number };
  readonly license: string;
  /** Published MD5 sums by size; a size without a published file is absent. */
  readonly md5: Readonly<Partial<Record<MedmnistSize, string>>>;
}

const ORGAN_NAMES = ['bladder', 'femur-left', 'femur-right', 'heart', 'kidney-left', 'kidney-right', 'liver', 'lung-left', 'lung-right', 'pancreas', 'spleen'];

const CC_BY = 'CC BY 4.0';

const FLAGS: readonly MedmnistFlagInfo[] = [
  {
    flag: 'pathmnist',
    title: 'PathMNIST: colon pathology (NCT-CRC-HE-100K, CRC-VAL-HE-7K)',
    dimensions: 2,
    kind: 'multiclass',
    names: [
      'adipose',
      'background',
      'debris',
      'lymphocytes',
      'mucus',
      'smooth muscle',
      'normal colon mucosa',
      'cancer-associated stroma',
      'colorectal adenocarcinoma epithelium',
    ],
    channels: 3,
    counts: { train: 89996, val: 10004, test: 7180 },
    license: CC_BY,
    md5: {
      28: 'a8b06965200029087d5bd730944a56c1',
      64: '55aa9c1e0525abe5a6b9d8343a507616',
      128: 'ac42d08fb904d92c244187169d1fd1d9',
      224: '2c51a510bcdc9cf8ddb2af93af1eadec',
    },
  },
  {
    flag: 'chestmnist',
    title: 'ChestMNIST: chest X-ray findings (NIH ChestX-ray14)',
    dimensions: 2,
    kind: 'multilabel',
    names: [
      'atelectasis',
      'cardiomegaly',
      'effusion',
      'infiltration',
      'mass',
      'nodule',
      'pneumonia',
      'pneumothorax',
      'consolidation',
      'edema',
      'emphysema',
      'fibrosis',
      'pleural',
      'hernia',
    ],
    channels: 1,
    counts: { train: 78468, val: 11219, test: 22433 },
    license: CC_BY,
    md5: {
      28: '02c8a6516a18b556561a56cbdd36c4a8',
      64: '9de6cd0b934ebb5b7426cfba5efbae16',
      128: 'db107e5590b27930b62dbaf558aebee3',
      224: '45bd33e6f06c3e8cdb481c74a89152aa',
    },
  },
  {
    flag: 'dermamnist',
    title: 'DermaMNIST: dermatoscopy (HAM10000)',
    dimensions: 2,
    kind: 'multiclass',
    names: [
      'actinic keratoses and intraepithelial carcinoma',
      'basal cell carcinoma',
      'benign keratosis-like lesions',
      'dermatofibroma',
      'melanoma',
      'melanocytic nevi',
      'vascular lesions',
    ],
    channels: 3,
    counts: { train: 7007, val: 1003, test: 2005 },
    license: 'CC BY-NC 4.0',
    md5: {
      28: '0744692d530f8e62ec473284d019b0c7',
      64: 'b70a2f5635c6199aeaa28c31d7202e1f',
      128: '2defd784463fa5243564e855ed717de1',
      224: '8974907d8e169bef5f5b96bc506ae45d',
    },
  },
  {
    flag: 'octmnist',
    title: 'OCTMNIST: retinal OCT',
    dimensions: 2,
    kind: 'multiclass',
    names: ['choroidal neovascularization', 'diabetic macular edema', 'drusen', 'normal'],
    channels: 1,
    counts: { train: 97477, val: 10832, test: 1000 },
    license: CC_BY,
    md5: {
      28: 'c68d92d5b585d8d81f7112f81e2d0842',
      64: 'e229e9440236b774d9f0dfef9d07bdaf',
      128: '0a97e76651ace45c5d943ee3f65b63ae',
      224: 'abc493b6d529d5de7569faaef2773ba3',
    },
  },
  {
    flag: 'pneumoniamnist',
    title: 'PneumoniaMNIST: pediatric chest X-ray (Kermany et al.)',
    dimensions: 2,
    kind: 'binary',
    names: ['normal', 'pneumonia'],
    channels: 1,
    counts: { train: 4708, val: 524, test: 624 },
    license: CC_BY,
    md5: {
      28: '28209eda62fecd6e6a2d98b1501bb15f',
      64: '8f4eceb4ccffa70c672198ea285246c6',
      128: '05b46931834c231683c68f40c47b2971',
      224: 'd6a3c71de1b945ea11211b03746c1fe1',
    },
  },
  {
    flag: 'retinamnist',
    title: 'RetinaMNIST: diabetic retinopathy grade (DeepDRiD)',
    dimensions: 2,
    kind: 'ordinal',
    names: ['0', '1', '2', '3', '4'],
    channels: 3,
    counts: { train: 1080, val: 120, test: 400 },
    license: CC_BY,
    md5: {
      28: 'bd4c0672f1bba3e3a89f0e4e876791e4',
      64: 'afda852cc34dcda56f86ad2b2457dbcc',
      128: 'e48e916a24454daf90583d4e6efb1a18',
      224: 'eae7e3b6f3fcbda4ae613ebdcbe35348',
    },
  },
  {
    flag: 'breastmnist',
    title: 'BreastMNIST: breast ultrasound',
    dimensions: 2,
    kind: 'binary',
    // Official label 1 (the positive class) is "normal, benign"; 0 is malignant.
    names: ['malignant', 'normal, benign'],
    channels: 1,
    counts: { train: 546, val: 78, test: 156 },
    license: CC_BY,
    md5: {
      28: '750601b1f35ba3300ea97c75c52ff8f6',
      64: '742edef2a1fd1524b2efff4bd7ba9364',
      128: '363e4b3f8d712e9b5de15470a2aaadf1',
      224: 'b56378a6eefa9fed602bb16d192d4c8b',
    },
  },
  {
    flag: 'bloodmnist',
    title: 'BloodMNIST: blood cell microscopy',
    dimensions: 2,
    kind: 'multiclass',
    names: [
      'basophil',
      'eosinophil',
      'erythroblast',
      'immature granulocytes(myelocytes, metamyelocytes and promyelocytes)',
      'lymphocyte',
      'monocyte',
      'neutrophil',
      'platelet',
    ],
    channels: 3,
    counts: { train: 11959, val: 1712, test: 3421 },
    license: CC_BY,
    md5: {
      28: '7053d0359d879ad8a5505303e11de1dc',
      64: '2b94928a2ae4916078ca51e05b6b800b',
      128: 'adace1e0ed228fccda1f39692059dd4c',
      224: 'b718ff6835fcbdb22ba9eacccd7b2601',
    },
  },
  {
    flag: 'tissuemnist',
    title: 'TissueMNIST: kidney cortex microscopy (BBBC051)',
    dimensions: 2,
    kind: 'multiclass',
    names: [
      'Collecting Duct, Connecting Tubule',
      'Distal Convoluted Tubule',
      'Glomerular endothelial cells',
      'Interstitial endothelial cells',
      'Leukocytes',
      'Podocytes',
      'Proximal Tubule Segments',
      'Thick Ascending Limb',
    ],
    channels: 1,
    counts: { train: 165466, val: 23640, test: 47280 },
    license: CC_BY,
    md5: {
      28: 'ebe78ee8b05294063de985d821c1c34b',
      64: '123ece2eba09d0aa5d698fda57103344',
      128: '61b955355d7425a89687b06cca3ce0c2',
      224: 'b077128c4a949f0a4eb01517f9037b9c',
    },
  },
  {
    flag: 'organamnist',
    title: 'OrganAMNIST: abdominal CT, axial (LiTS)',
    dimensions: 2,
    kind: 'multiclass',
    names: ORGAN_NAMES,
    channels: 1,
    counts: { train: 34561, val: 6491, test: 17778 },
    license: CC_BY,
    md5: {
      28: '68e3f8846a6bd62f0c9bf841c0d9eacc',
      64: '2dcccc29b88e6da5a01161ef20cda288',
      128: 'eeae80d0a227a8d099027e1b3cfd3b60',
      224: '50747347e05c87dd3aaf92c49f9f3170',
    },
  },
  {
    flag: 'organcmnist',
    title: 'OrganCMNIST: abdominal CT, coronal (LiTS)',
    dimensions: 2,
    kind: 'multiclass',
    names: ORGAN_NAMES,
    channels: 1,
    counts: { train: 12975, val: 2392, test: 8216 },
    license: CC_BY,
    md5: {
      28: 'b9ceb9546e10131b32923c5bbeaea2b1',
      64: '3ce34a8724ea6f548e6db4744d03b6a9',
      128: '773c1f009daa3fe5d9a2a201b2a7ed94',
      224: '050f5e875dc056f6768abf94ec9995d1',
    },
  },
  {
    flag: 'organsmnist',
    title: 'OrganSMNIST: abdominal CT, sagittal (LiTS)',
    dimensions: 2,
    kind: 'multiclass',
    names: ORGAN_NAMES,
    channels: 1,
    counts: { train: 13932, val: 2452, test: 8827 },
    license: CC_BY,
    md5: {
      28: '9ab87b696fb54e2a387ebe992d6ed5f1',
      64: '53a6d115339d874c25e309a994ff46d3',
      128: 'ded0c5fa01a95dc4978b956f613e9b8e',
      224: 'b354719e553fbbb2513d5533f52a4cb1',
    },
  },
  {
    flag: 'organmnist3d',
    title: 'OrganMNIST3D: abdominal CT volumes (LiTS)',
    dimensions: 3,
    kind: 'multiclass',
    names: ['liver', 'kidney-right', 'kidney-left', 'femur-right', 'femur-left', 'bladder', 'heart', 'lung-right', 'lung-left', 'spleen', 'pancreas'],
    channels: 1,
    counts: { train: 971, val: 161, test: 610 },
    license: CC_BY,
    md5: { 28: 'a0c5a1ff56af4f155c46d46fbb45a2fe', 64: '58a2205adf14a9d0a189cb06dc78bf10' },
  },
  {
    flag: 'nodulemnist3d',
    title: 'NoduleMNIST3D: lung nodule CT volumes (LIDC-IDRI)',
    dimensions: 3,
    kind: 'binary',
    names: ['benign', 'malignant'],
    channels: 1,
    counts: { train: 1158, val: 165, test: 310 },
    license: CC_BY,
    md5: { 28: '8755a7e9e05a4d9ce80a24c3e7a256f3', 64: 'c47c5b7d457bf6332200d2ea6d64ecd8' },
  },
  {
    flag: 'adrenalmnist3d',
    title: 'AdrenalMNIST3D: adrenal gland shape volumes',
    dimensions: 3,
    kind: 'binary',
    names: ['normal', 'hyperplasia'],
    channels: 1,
    counts: { train: 1188, val: 98, test: 298 },
    license: CC_BY,
    md5: { 28: 'bbd3c5a5576322bc4cdfea780653b1ce', 64: '17721accfe9fb005146a47d33bc54b2f' },
  },
  {
    flag: 'fracturemnist3d',
    title: 'FractureMNIST3D: rib fracture CT volumes (RibFrac)',
    dimensions: 3,
    kind: 'multiclass',
    names: ['buckle rib fracture', 'nondisplaced rib fracture', 'displaced rib fracture'],
    channels: 1,
    counts: { train: 1027, val: 103, test: 240 },
    license: CC_BY,
    md5: { 28: '6aa7b0143a6b42da40027a9dda61302f', 64: 'f01d7e6316aedf4210da0da5b7437b42' },
  },
  {
    flag: 'vesselmnist3d',
    title: 'VesselMNIST3D: brain vessel MRA volumes (IntrA)',
    dimensions: 3,
    kind: 'binary',
    names: ['vessel', 'aneurysm'],
    channels: 1,
    counts: { train: 1335, val: 191, test: 382 },
    license: CC_BY,
    md5: { 28: 'b41fd4f7e7e2feedddb201585ecafa1b', 64: '6bb274a8846e1097066dcd64e2c4520f' },
  },
  {
    flag: 'synapsemnist3d',
    title: 'SynapseMNIST3D: synapse electron microscopy volumes',
    dimensions: 3,
    kind: 'binary',
    names: ['inhibitory synapse', 'excitatory synapse'],
    channels: 1,
    counts: { train: 1230, val: 177, test: 352 },
    license: CC_BY,
    md5: { 28: '1235b78a3cd6280881dd7850a78eadb6', 64: '43bd14ebf3af9d3dd072446fedc14d5e' },
  },
];

/** Every MedMNIST flag, 2D and 3D, by name. */
export const MEDMNIST_FLAGS: ReadonlyMap<string, MedmnistFlagInfo> = new Map(FLAGS.map((info) => [info.flag, info]));

/** The 2D flags, which medssl reads. */
export const MEDMNIST_2D_FLAGS: readonly string[] = FLAGS.filter((info) => info.dimensions === 2).map((info) => info.flag);

/** The 3D flags: listed for completeness, refused by the loader and the downloader. */
export const MEDMNIST_3D_FLAGS: readonly string[] = FLAGS.filter((info) => info.dimensions === 3).map((info) => info.flag);

/** The flag's facts; an unknown or 3D flag is an error that says which flags exist. */
export function medmnistFlag(flag: string): MedmnistFlagInfo {
  const info = MEDMNIST_FLAGS.get(flag);
  if (info === undefined) {
    throw new Error(`unknown MedMNIST flag ${JSON.stringify(flag)}; the 2D flags are ${MEDMNIST_2D_FLAGS.join(', ')}`);
  }
  if (info.dimensions === 3) {
    throw new Error(
      `MedMNIST flag ${flag} holds 3D volumes (D x H x W voxels), not 2D images; medssl reads 2D images only. ` +
        `The 2D flags are ${MEDMNIST_2D_FLAGS.join(', ')}`,
    );
  }
  return info;
}

/** The medssl task of a flag: its official task with the matching primary metric. */
export function medmnistTask(info: MedmnistFlagInfo): Task {
  switch (info.kind) {
    case 'binary':
      return { type: 'binary', classes: [info.names[0]!, info.names[1]!], primaryMetric: 'auc' };
    case 'multiclass':
      return { type: 'multiclass', classes: info.names, ordinal: false, primaryMetric: 'accuracy' };
    case 'ordinal':
      return { type: 'multiclass', classes: info.names, ordinal: true, primaryMetric: 'kappa' };
    case 'multilabel':
      return { type: 'multilabel', labels: info.names, primaryMetric: 'mean_auc' };
  }
}

/** `<flag>.npz` at 28x28, `<flag>_<size>.npz` for the MedMNIST+ sizes. */
export function medmnistFileName(flag: string, size: MedmnistSize = 28): string {
  return size === 28 ? `${flag}.npz` : `${flag}_${size}.npz`;
}

/** Where Zenodo record 10519652 serves the file. */
export function medmnistUrl(flag: string, size: MedmnistSize = 28): string {
  const name = size === 28 ? flag : `${flag}_${size}`;
  return `https://zenodo.org/records/10519652/files/${name}.npz?download=1`;
}

export function assertMedmnistSize(size: unknown, where = 'size'): asserts size is MedmnistSize {
  if (!MEDMNIST_SIZES.includes(size as MedmnistSize)) {
    throw new RangeError(`${where} must be one of ${MEDMNIST_SIZES.join(', ')}, got ${JSON.stringify(size)}`);
  }
}
