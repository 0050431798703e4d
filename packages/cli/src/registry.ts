import { barlowtwinsProvider } from '@medssl/backbone-barlowtwins';
import { dinoProvider } from '@medssl/backbone-dino';
import { ibotProvider } from '@medssl/backbone-ibot';
import { maeProvider } from '@medssl/backbone-mae';
import { mocov3Provider } from '@medssl/backbone-mocov3';
import { dinov2Provider } from '@medssl/backbone-dinov2';
import { onnxProvider } from '@medssl/backbone-onnx';
import { simclrProvider } from '@medssl/backbone-simclr';
import { randomProvider, supervisedProvider } from '@medssl/backbone-supervised';
import { swavProvider } from '@medssl/backbone-swav';
import { aptosProvider } from '@medssl/dataset-aptos';
import { chestxray14Provider } from '@medssl/dataset-chestxray14';
import { folderProvider } from '@medssl/dataset-folder';
import { medmnistProvider } from '@medssl/dataset-medmnist';
import { pcamProvider } from '@medssl/dataset-pcam';
import { pneumoniaProvider } from '@medssl/dataset-pneumonia';
import { createRegistry, type Registry } from '@medssl/experiment';
import type { Provider } from '@medssl/spec';

/**
 * Every plugin the `medssl` command knows: one line per package. Adding a backbone or a dataset is one
 * package exporting its provider and one line here; every id the CLI accepts, its usage texts,
 * `medssl datasets list` and `medssl backbones list` follow from this list, and presets pick from it in its order.
 */
export const defaultProviders: readonly Provider[] = [
  simclrProvider,
  swavProvider,
  dinoProvider,
  supervisedProvider,
  randomProvider,
  // Methods after the paper's: presets list their backbones in this order.
  dinov2Provider,
  maeProvider,
  ibotProvider,
  mocov3Provider,
  barlowtwinsProvider,
  onnxProvider,
  pcamProvider,
  aptosProvider,
  chestxray14Provider,
  pneumoniaProvider,
  medmnistProvider,
  folderProvider,
];

/** The CLI's registry: `defaultProviders`, and any more given (a test's, or an application's own plugins). */
export function cliRegistry(more: readonly Provider[] = []): Registry {
  return createRegistry([...defaultProviders, ...more]);
}
