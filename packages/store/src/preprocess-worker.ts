// Entry of a preprocessing worker thread: runs the pool's jobs (`runPreprocessJob`) into the shared batch
// buffers. Started by `createPreprocessPool`; says it is ready once loaded, so that the pool sends it jobs.
import { parentPort, workerData } from 'node:worker_threads';
import { runPreprocessJob, type PreprocessJob, type PreprocessReply, type PreprocessWorkerData } from './preprocess-job.js';

const port = parentPort;
if (port) {
  const data = workerData as PreprocessWorkerData;
  const views = data.slots.map((buffer) => new Float32Array(buffer));
  port.on('message', async (message: PreprocessJob) => {
    port.postMessage((await runPreprocessJob(message, data, views)) satisfies PreprocessReply);
  });
  port.postMessage({ ready: true } satisfies PreprocessReply);
}
