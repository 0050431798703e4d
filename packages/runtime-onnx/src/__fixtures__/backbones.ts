// Minimal Backbone literals for the tests: the runtime reads only the id, architecture, preprocessing and
// embedding. Real backbones live in the backbone-* packages.
import { SPECIFICATION_VERSION, type Architecture, type Backbone, type EmbeddingKind } from '@medssl/spec';
import { canonicalTensorShapes, checkCanonicalTensors } from '@medssl/weights';

const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } as const;

export function testBackbone(id: string, architecture: Architecture, embedding: { kind: EmbeddingKind; dimension: number }, inputSize = 224): Backbone {
  const [method = 'test', variant = id] = id.split(':');
  return {
    specificationVersion: SPECIFICATION_VERSION,
    id,
    method,
    variant,
    architecture,
    preprocessing: { resize: { size: Math.round((inputSize * 256) / 224), interpolation: 'bicubic' }, centerCrop: inputSize, normalize: IMAGENET, channels: 3 },
    embedding,
    checkpoints: [],
    expectedTensors: () => canonicalTensorShapes(architecture),
    fromStateDict(stateDict, provenance) {
      checkCanonicalTensors(architecture, stateDict, provenance.source);
      return { architecture, tensors: stateDict, ...provenance };
    },
  };
}
