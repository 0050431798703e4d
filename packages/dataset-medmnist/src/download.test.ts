// The downloader against a local HTTP server on 127.0.0.1: never the internet.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeWithSharedData, sharedData } from '@medssl/test-data';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { noisyUint8, npzBytes, uint8Array } from './__fixtures__/npz.js';
import { downloadMedmnist, medmnistMd5, terminalProgress, type DownloadProgress } from './download.js';
import { medmnistUrl } from './flags.js';
import { medmnist } from './medmnist.js';

const work = mkdtempSync(join(tmpdir(), 'medssl-medmnist-download-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const realData = sharedData('medmnist');

/** A small but valid breastmnist file: 200 KB of noise, so that it arrives in many chunks. */
const breastFile = npzBytes(
  {
    train_images: noisyUint8([160, 28, 28], 1),
    train_labels: uint8Array(
      [160, 1],
      Array.from({ length: 160 }, (_, row) => row % 2),
    ),
    val_images: noisyUint8([40, 28, 28], 2),
    val_labels: uint8Array(
      [40, 1],
      Array.from({ length: 40 }, (_, row) => row % 2),
    ),
    test_images: noisyUint8([60, 28, 28], 3),
    test_labels: uint8Array(
      [60, 1],
      Array.from({ length: 60 }, (_, row) => row % 2),
    ),
  },
  'deflated',
);
const breastMd5 = md5Of(breastFile);

function md5Of(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('hex');
}

interface Behavior {
  /** Requests (0-based, in arrival order) whose connection drops after this many body bytes. */
  dropAfter?: { requests: readonly number[]; bytes: number };
  ignoreRange?: boolean;
  status?: number;
  /** Answer every request from this one on (0-based) with this status. */
  statusFrom?: { request: number; status: number };
}

interface TestServer {
  url: string;
  /** The Range header of every request, or null when there was none. */
  ranges: (string | null)[];
}

let server: Server | undefined;
let body: Uint8Array = breastFile;
let behavior: Behavior = {};
let served: TestServer;

beforeAll(async () => {
  server = createServer((request, response) => {
    const index = served.ranges.length;
    const range = request.headers.range ?? null;
    served.ranges.push(range);
    const status = behavior.status ?? (behavior.statusFrom !== undefined && index >= behavior.statusFrom.request ? behavior.statusFrom.status : undefined);
    if (status !== undefined) {
      response.writeHead(status, { 'Content-Type': 'text/plain' }).end('no such file');
      return;
    }
    let start = 0;
    const match = range === null || behavior.ignoreRange ? null : /^bytes=(\d+)-$/.exec(range);
    if (match !== null) {
      start = Number(match[1]);
      if (start >= body.length) {
        response.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
        return;
      }
      response.writeHead(206, { 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}`, 'Content-Length': body.length - start });
    } else {
      response.writeHead(200, { 'Content-Length': body.length });
    }
    const part = body.subarray(start);
    const drop = behavior.dropAfter;
    if (drop?.requests.includes(index)) {
      // Destroyed a moment after the bytes are flushed, so that the client surely holds them: a drop mid-body.
      response.write(part.subarray(0, drop.bytes), () => setTimeout(() => response.socket?.destroy(), 30));
      return;
    }
    response.end(part);
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  await new Promise<void>((resolve) => server!.close(() => resolve()));
});

/** Serves `file` under `/files/<name>` with the given behaviour, counting requests afresh. */
function serve(file: Uint8Array, how: Behavior = {}): TestServer {
  body = file;
  behavior = how;
  const { port } = server!.address() as AddressInfo;
  served = { url: `http://127.0.0.1:${port}/files/breastmnist.npz?download=1`, ranges: [] };
  return served;
}

let folderNumber = 0;
function freshFolder(): string {
  return join(work, `root-${folderNumber++}`);
}

afterEach(() => {
  behavior = {};
});

function recorder(): { calls: [number, number | undefined][]; onProgress: DownloadProgress } {
  const calls: [number, number | undefined][] = [];
  return { calls, onProgress: (bytes, total) => calls.push([bytes, total]) };
}

describe('downloadMedmnist', () => {
  it('downloads into <root>/<flag>.npz, reports progress and checks the MD5', async () => {
    const { url, ranges } = serve(breastFile);
    const root = freshFolder();
    const { calls, onProgress } = recorder();
    const result = await downloadMedmnist({ flag: 'breastmnist', root, url, md5: breastMd5, onProgress, retryDelayMilliseconds: 0 });
    expect(result).toEqual({ path: join(root, 'breastmnist.npz'), downloaded: true, bytes: breastFile.length, md5: breastMd5, verified: true });
    expect(readFileSync(result.path).equals(breastFile)).toBe(true);
    expect(readdirSync(root)).toEqual(['breastmnist.npz']);
    expect(ranges).toEqual([null]);
    expect(calls[0]).toEqual([0, breastFile.length]);
    expect(calls.at(-1)).toEqual([breastFile.length, breastFile.length]);
    expect(calls.length).toBeGreaterThan(2);
    // And the file opens as a dataset.
    const dataset = await medmnist({ flag: 'breastmnist', root });
    expect(await dataset.size('train')).toBe(160);
  });

  it('resumes with a Range request after the connection drops', async () => {
    const { url, ranges } = serve(breastFile, { dropAfter: { requests: [0], bytes: 70_000 } });
    const root = freshFolder();
    const result = await downloadMedmnist({ flag: 'breastmnist', root, url, md5: breastMd5, onProgress: false, retryDelayMilliseconds: 0 });
    expect(result.verified).toBe(true);
    expect(readFileSync(result.path).equals(breastFile)).toBe(true);
    expect(ranges).toHaveLength(2);
    expect(ranges[0]).toBeNull();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(ranges[1] ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(70_000);
  });

  it('gives up after failures in a row, keeps the part file, and a later call resumes from it', async () => {
    // The first attempt drops after 50 KB (progress), then the server fails: 2 failures in a row > 1 retry.
    const { url, ranges } = serve(breastFile, { dropAfter: { requests: [0], bytes: 50_000 }, statusFrom: { request: 1, status: 503 } });
    const root = freshFolder();
    const partPath = join(root, 'breastmnist.npz.part');
    await expect(
      downloadMedmnist({ flag: 'breastmnist', root, url, md5: breastMd5, onProgress: false, retries: 1, retryDelayMilliseconds: 0 }),
    ).rejects.toThrow(
      new RegExp(
        `^${escapeRegExp(url)}: download failed \\(HTTP 503 Service Unavailable\\); \\d+ bytes are kept in ${escapeRegExp(partPath)}, and calling downloadMedmnist again resumes from there$`,
      ),
    );
    const kept = readFileSync(partPath).length;
    expect(kept).toBeGreaterThan(0);
    expect(ranges).toEqual([null, `bytes=${kept}-`]);

    serve(breastFile);
    const result = await downloadMedmnist({ flag: 'breastmnist', root, url, md5: breastMd5, onProgress: false });
    expect(served.ranges).toEqual([`bytes=${kept}-`]);
    expect(result).toMatchObject({ downloaded: true, verified: true, md5: breastMd5, bytes: breastFile.length });
    expect(readFileSync(result.path).equals(breastFile)).toBe(true);
    expect(existsSync(partPath)).toBe(false);
  });

  it('keeps going while a flaky connection makes progress', async () => {
    const { url, ranges } = serve(breastFile, { dropAfter: { requests: [0, 1, 2, 3], bytes: 40_000 } });
    const root = freshFolder();
    const result = await downloadMedmnist({ flag: 'breastmnist', root, url, md5: breastMd5, onProgress: false, retries: 1, retryDelayMilliseconds: 0 });
    expect(result.verified).toBe(true);
    expect(ranges).toHaveLength(5);
  });

  it('deletes the part file and names both sums on an MD5 mismatch', async () => {
    const { url } = serve(breastFile);
    const root = freshFolder();
    const wrong = '0123456789abcdef0123456789abcdef';
    await expect(downloadMedmnist({ flag: 'breastmnist', root, url, md5: wrong, onProgress: false })).rejects.toThrow(
      `${url}: MD5 mismatch for breastmnist.npz: expected ${wrong}, got ${breastMd5}; deleted ${join(root, 'breastmnist.npz.part')}`,
    );
    expect(readdirSync(root)).toEqual([]);
  });

  it('checks against the published MD5 by default', async () => {
    const { url } = serve(breastFile);
    const root = freshFolder();
    await expect(downloadMedmnist({ flag: 'breastmnist', root, url, onProgress: false })).rejects.toThrow(
      `MD5 mismatch for breastmnist.npz: expected ${medmnistMd5('breastmnist')}, got ${breastMd5}`,
    );
  });

  it('starts over when the server ignores the range, or the part file does not fit', async () => {
    const { url } = serve(breastFile, { ignoreRange: true });
    const root = freshFolder();
    mkdirSync(root, { recursive: true });
    const partPath = join(root, 'breastmnist.npz.part');
    writeFileSync(partPath, breastFile.subarray(0, 1000));
    const ignored = await downloadMedmnist({ flag: 'breastmnist', root, url, md5: breastMd5, onProgress: false });
    expect(served.ranges).toEqual(['bytes=1000-']);
    expect(readFileSync(ignored.path).equals(breastFile)).toBe(true);

    // A part file longer than the file: the server answers 416, and the download starts again.
    rmSync(ignored.path);
    serve(breastFile);
    writeFileSync(partPath, new Uint8Array(breastFile.length + 10));
    const restarted = await downloadMedmnist({ flag: 'breastmnist', root, url, md5: breastMd5, onProgress: false });
    expect(served.ranges).toEqual([`bytes=${breastFile.length + 10}-`, null]);
    expect(readFileSync(restarted.path).equals(breastFile)).toBe(true);
  });

  it('finishes a part file that is already complete (416 with the same size)', async () => {
    const { url } = serve(breastFile);
    const root = freshFolder();
    const partPath = join(root, 'breastmnist.npz.part');
    await downloadMedmnist({ flag: 'breastmnist', root, url, md5: breastMd5, onProgress: false });
    rmSync(join(root, 'breastmnist.npz'));
    writeFileSync(partPath, breastFile);
    serve(breastFile);
    const result = await downloadMedmnist({ flag: 'breastmnist', root, url, md5: breastMd5, onProgress: false });
    expect(served.ranges).toEqual([`bytes=${breastFile.length}-`]);
    expect(result).toMatchObject({ downloaded: true, verified: true, md5: breastMd5 });
  });

  it('reports HTTP errors with the address and status, without retrying them', async () => {
    const { url, ranges } = serve(breastFile, { status: 404 });
    await expect(downloadMedmnist({ flag: 'breastmnist', root: freshFolder(), url, onProgress: false })).rejects.toThrow(
      `${url}: HTTP 404 Not Found; expected 200 or 206`,
    );
    expect(ranges).toHaveLength(1);
  });

  it('leaves a file already in place alone', async () => {
    const { url, ranges } = serve(breastFile);
    const root = freshFolder();
    await downloadMedmnist({ flag: 'breastmnist', root, url, md5: breastMd5, onProgress: false });
    const again = await downloadMedmnist({ flag: 'breastmnist', root, url, md5: breastMd5, onProgress: false });
    expect(again).toEqual({ path: join(root, 'breastmnist.npz'), downloaded: false, bytes: breastFile.length, verified: false });
    expect(ranges).toHaveLength(1);
  });

  it('stops when aborted', async () => {
    const { url } = serve(breastFile);
    const controller = new AbortController();
    controller.abort();
    await expect(downloadMedmnist({ flag: 'breastmnist', root: freshFolder(), url, onProgress: false, signal: controller.signal })).rejects.toMatchObject({
      name: 'AbortError',
    });
  });

  it('knows the official addresses and refuses 3D flags and unknown sizes', async () => {
    expect(medmnistUrl('pneumoniamnist')).toBe('https://zenodo.org/records/10519652/files/pneumoniamnist.npz?download=1');
    expect(medmnistUrl('pneumoniamnist', 224)).toBe('https://zenodo.org/records/10519652/files/pneumoniamnist_224.npz?download=1');
    expect(medmnistMd5('pneumoniamnist', 224)).toBe('d6a3c71de1b945ea11211b03746c1fe1');
    await expect(downloadMedmnist({ flag: 'vesselmnist3d', root: freshFolder(), onProgress: false })).rejects.toThrow(/3D volumes/);
    await expect(downloadMedmnist({ flag: 'pathmnist', size: 32 as never, root: freshFolder(), onProgress: false })).rejects.toThrow(
      'downloadMedmnist: size must be one of 28, 64, 128, 224, got 32',
    );
  });
});

describeWithSharedData('downloading the real files from a local mirror', ['medmnist/retinamnist.npz', 'medmnist/pneumoniamnist.npz'], () => {
  it('accepts retinamnist.npz against its published MD5', async () => {
    const file = readFileSync(join(realData, 'retinamnist.npz'));
    const { url } = serve(file, { dropAfter: { requests: [0], bytes: 1_000_000 } });
    const result = await downloadMedmnist({ flag: 'retinamnist', root: freshFolder(), url, onProgress: false, retryDelayMilliseconds: 0 });
    expect(result).toMatchObject({ verified: true, md5: 'bd4c0672f1bba3e3a89f0e4e876791e4', bytes: file.length });
  });

  it('refuses the shared pneumoniamnist.npz, whose train order differs from the published file', async () => {
    const file = readFileSync(join(realData, 'pneumoniamnist.npz'));
    const { url } = serve(file);
    await expect(downloadMedmnist({ flag: 'pneumoniamnist', root: freshFolder(), url, onProgress: false })).rejects.toThrow(
      `MD5 mismatch for pneumoniamnist.npz: expected 28209eda62fecd6e6a2d98b1501bb15f, got ${md5Of(file)}`,
    );
  });
});

describe('terminalProgress', () => {
  it('writes one line per tenth when stderr is not a terminal', () => {
    const lines: string[] = [];
    const stream = { isTTY: false, write: (text: string) => lines.push(text) } as unknown as NodeJS.WriteStream;
    const progress = terminalProgress('pathmnist_224.npz', stream);
    for (let bytes = 0; bytes <= 10 * 1024 * 1024; bytes += 256 * 1024) progress(bytes, 10 * 1024 * 1024);
    expect(lines).toHaveLength(11);
    expect(lines[0]).toBe('pathmnist_224.npz: 0.0 KiB / 10.0 MiB (0%)\n');
    expect(lines.at(-1)).toBe('pathmnist_224.npz: 10.0 MiB / 10.0 MiB (100%)\n');
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
