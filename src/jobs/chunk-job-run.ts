import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { AvpipeError, type AvpipeErrorCode } from '../errors.js';
import type { VideoDecoderConfig } from '../media/encoded-chunk.js';
import type { ChunkPacket, ChunkWorkerData, EncodeChunk, FromChunkWorker } from '../pipeline/chunk-protocol.js';
import { storageOf } from '../storage/storage-spec.js';
import { encodeChunkFile } from './chunk-file.js';
import { chunkWorkFromJson, type ChunkJobData, type ChunkJobResult } from './chunk-job-data.js';
import { JobProcess } from './job-process.js';
import { fetchS3, s3Service, s3Url } from './stage-inputs.js';

/**
 * One chunk job's run on the worker that took it: its input fetched when it is on S3, the chunk
 * made and encoded by the split's own chunk work (a local split's chunk worker's), in a process of its
 * own (a JobProcess), its packets
 * written as a chunk file and put in the export's storage under a key of this run's own.
 */
export class ChunkJobRun {
  readonly done: Promise<ChunkJobResult>;
  private _thread: JobProcess | undefined;
  private _aborted = false;

  /** `wanted` is asked before the packets are stored: false when the chunk's export is gone. */
  constructor(data: ChunkJobData, worker: string, retry: number, wanted: () => Promise<boolean> = async () => true) {
    this.done = this._run(data, worker, retry, wanted);
  }

  /** A chunk is all or nothing: a stop ends it at once, as abort() does. */
  stop(): void {
    this.abort();
  }

  /** Ends it at once. */
  abort(): void {
    this._aborted = true;
    void this._thread?.terminate();
  }

  private async _run(data: ChunkJobData, worker: string, retry: number, wanted: () => Promise<boolean>): Promise<ChunkJobResult> {
    const started = performance.now();
    const dir = await mkdtemp(join(tmpdir(), 'avpipe-chunk-'));
    try {
      let work: ChunkWorkerData = chunkWorkFromJson({ ...data.work, encoder: { ...data.work.encoder, threads: 1 } });
      const source = work.source;
      if (source.type === 'file' && s3Url(source.path) !== undefined) {
        const local = join(dir, `input${extname(source.path)}`);
        await fetchS3(source.path, local, s3Service(data.storage));
        work = { ...work, source: { ...source, path: local } };
      }
      if (this._aborted) throw new AvpipeError('ABORTED', 'the chunk was stopped');
      const { decoderConfig, packets, done } = await this._encode(work, data);
      if (!(await wanted())) throw new AvpipeError('ABORTED', `its export ${data.parent} ended before chunk ${data.chunk.index} was done: not stored`);
      const file = join(dir, 'chunk');
      await writeFile(file, encodeChunkFile({ decoderConfig, packets }));
      const key = `${data.key}-run${retry}`;
      const storage = storageOf(data.storage);
      try {
        await storage.upload(file, key);
      } catch (err) {
        throw new AvpipeError('UPLOAD_FAILED', `chunk ${data.chunk.index}'s packets could not be stored in ${storage.name}: ${(err as Error).message}`);
      } finally {
        await storage.close?.();
      }
      const bytes = packets.reduce((n, p) => n + p.data.byteLength, 0);
      return { key, stats: done.stats, leadInFrames: done.leadInFrames, wallMs: Math.round(performance.now() - started), worker, bytes };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** The chunk through the split's chunk work in a process of its own: its packets, its configuration, its end. */
  private _encode(work: ChunkWorkerData, data: ChunkJobData): Promise<{ decoderConfig: VideoDecoderConfig | undefined; packets: ChunkPacket[]; done: Extract<FromChunkWorker, { type: 'done' }> }> {
    const thread = new JobProcess({ module: new URL('../pipeline/chunk-work.js', import.meta.url), name: 'serveChunks' }, work);
    this._thread = thread;
    const packets: ChunkPacket[] = [];
    let decoderConfig: VideoDecoderConfig | undefined;
    return new Promise((resolve, reject) => {
      thread.on('message', (message) => {
        const m = message as FromChunkWorker;
        if (m.type === 'packets') {
          decoderConfig ??= m.decoderConfig;
          packets.push(...m.packets);
        } else if (m.type === 'done') {
          resolve({ decoderConfig, packets, done: m });
          void thread.terminate();
        } else {
          reject(new AvpipeError(m.code as AvpipeErrorCode, m.message));
          void thread.terminate();
        }
      });
      thread.on('error', (err) => reject(new AvpipeError('ENCODER_FAILED', `chunk ${data.chunk.index}: its process died: ${err.message}`)));
      thread.on('exit', () => reject(this._aborted ? new AvpipeError('ABORTED', 'the chunk was stopped') : new AvpipeError('ENCODER_FAILED', `chunk ${data.chunk.index}: its process exited before the chunk was done`)));
      thread.postMessage({ type: 'encode', chunk: data.chunk } satisfies EncodeChunk);
    });
  }
}
