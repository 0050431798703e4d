import { parseArgs } from 'node:util';
import { readCheckpointFile } from '@medssl/weights/node';
import { UsageError, type Command } from '../command.js';

const usage = `Usage
  medssl weights inspect FILE [--json]

Lists a checkpoint's tensors (name, type, shape) without running anything: PyTorch zip and legacy files
are read through a restricted unpickler that refuses any code; safetensors and npz are plain data.
`;

export const weightsCommand: Command = {
  name: 'weights',
  summary: "list a checkpoint's tensors without running anything",
  usage,
  async run(argv, io) {
    const { values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
    const [action, file, ...extra] = positionals;
    if (action !== 'inspect') throw new UsageError(`expected "inspect", got ${action === undefined ? 'nothing' : JSON.stringify(action)}`);
    if (file === undefined) throw new UsageError('inspect needs a checkpoint file');
    if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
    const checkpoint = await readCheckpointFile(file);
    const tensors = [...checkpoint.tensors].map(([name, tensor]) => ({ name, dtype: tensor.dtype, shape: [...tensor.shape] }));
    const parameters = tensors.reduce((sum, tensor) => sum + tensor.shape.reduce((product, extent) => product * extent, 1), 0);
    if (values.json) {
      io.stdout(
        `${JSON.stringify({ file, format: checkpoint.format, sha256: checkpoint.sha256, bytes: checkpoint.byteLength, parameters, tensors }, null, 2)}\n`,
      );
      return 0;
    }
    const width = Math.max(4, ...tensors.map((tensor) => tensor.name.length));
    io.stdout(`${file}: ${checkpoint.format}, ${tensors.length} tensors, ${parameters.toLocaleString('en-US')} values, sha256 ${checkpoint.sha256}\n\n`);
    for (const tensor of tensors) io.stdout(`${tensor.name.padEnd(width)}  ${tensor.dtype.padEnd(8)} [${tensor.shape.join(', ')}]\n`);
    return 0;
  },
};
