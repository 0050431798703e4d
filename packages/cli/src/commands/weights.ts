import { parseArgs } from 'node:util';
import { CHECKPOINT_READ_OPTIONS, checkpointReaders, type Registry } from '@medssl/experiment';
import { readCheckpointFile } from '@medssl/weights/node';
import { UsageError, type Command } from '../command.js';

const usage = `Usage
  medssl weights inspect FILE [--json]

Names a checkpoint's layout and the backbone ids that read it (e.g. "Hugging Face Dinov2Model, ViT-B/14,
12 blocks, no registers: dinov2:rad-dino, dinov2:vitb14-hf"), then lists its tensors (name, type, shape),
without running anything: PyTorch zip and legacy files are read through a restricted unpickler that refuses
any code; safetensors and npz are plain data.
`;

export function weightsCommand(registry: Registry): Command {
  return {
    name: 'weights',
    summary: "name a checkpoint's layout and the backbone ids that read it, and list its tensors, without running anything",
    usage,
    async run(argv, io) {
      const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
      const [action, file, ...extra] = positionals;
      if (action !== 'inspect') throw new UsageError(`expected "inspect", got ${action === undefined ? 'nothing' : JSON.stringify(action)}`);
      if (file === undefined) throw new UsageError('inspect needs a checkpoint file');
      if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
      const checkpoint = await readCheckpointFile(file, CHECKPOINT_READ_OPTIONS);
      const tensors = [...checkpoint.tensors].map(([name, tensor]) => ({ name, dtype: tensor.dtype, shape: [...tensor.shape] }));
      const parameters = tensors.reduce((sum, tensor) => sum + tensor.shape.reduce((product, extent) => product * extent, 1), 0);
      const readers = checkpointReaders(registry, checkpoint.stateDict);
      if (values.json) {
        const document = { file, format: checkpoint.format, sha256: checkpoint.sha256, bytes: checkpoint.byteLength, parameters, readers, tensors };
        io.stdout(`${JSON.stringify(document, null, 2)}\n`);
        return 0;
      }
      io.stdout(`${file}: ${checkpoint.format}, ${tensors.length} tensors, ${parameters.toLocaleString('en-US')} values, sha256 ${checkpoint.sha256}\n`);
      if (readers.length === 0) {
        io.stdout('No backbone here reads this layout (medssl backbones list names the layout each reads; onnx:<path> runs an ONNX file).\n\n');
      } else {
        io.stdout(`Read by:\n${readers.map((reader) => `  ${reader.layout}, ${reader.architecture}: ${reader.backbones.join(', ')}\n`).join('')}\n`);
      }
      const width = Math.max(4, ...tensors.map((tensor) => tensor.name.length));
      for (const tensor of tensors) io.stdout(`${tensor.name.padEnd(width)}  ${tensor.dtype.padEnd(8)} [${tensor.shape.join(', ')}]\n`);
      return 0;
    },
  };
}
