// Minimal Backbone literals for the tests: the runtime reads only the id, architecture, preprocessing and
// embedding. Real backbones live in the backbone-* packages.
import { SPECIFICATION_VERSION, type Architecture, type Backbone, type EmbeddingLayout } from '@medssl/spec';
import { canonicalTensorShapes, checkCanonicalTensors, classTokenEmbedding, pooledEmbedding, withDimension } from '@medssl/weights';

const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } as const;

/** An embedding by its short name (`pooled`, `cls`, `cls-last-4`), or spelt out. */
export type TestEmbedding = 'pooled' | 'cls' | 'cls-last-4' | EmbeddingLayout;

export function embeddingLayout(embedding: TestEmbedding): EmbeddingLayout {
  if (embedding === 'pooled') return pooledEmbedding;
  if (embedding === 'cls') return classTokenEmbedding(1);
  if (embedding === 'cls-last-4') return classTokenEmbedding(4);
  return embedding;
}

export function testBackbone(id: string, architecture: Architecture, embedding: TestEmbedding, inputSize = 224): Backbone {
  const [method = 'test', variant = id] = id.split(':');
  return {
    specificationVersion: SPECIFICATION_VERSION,
    id,
    method,
    variant,
    architecture,
    preprocessing: { resize: { size: Math.round((inputSize * 256) / 224), interpolation: 'bicubic' }, centerCrop: inputSize, normalize: IMAGENET, channels: 3 },
    embedding: withDimension(architecture, embeddingLayout(embedding)),
    pretraining: { supervision: 'none', data: 'none', domain: 'natural' },
    weightSource: 'seed',
    checkpoints: [],
    expectedTensors: () => canonicalTensorShapes(architecture),
    fromStateDict(stateDict, provenance) {
      checkCanonicalTensors(architecture, stateDict, provenance.source);
      return { architecture, tensors: stateDict, ...provenance };
    },
  };
}
