import type { EncoderStats } from '../codecs/encoder-node.js';
import type { VideoEncoderConfig } from '../codecs/codec-provider.js';
import type { EncodedChunkType, VideoDecoderConfig } from '../media/encoded-chunk.js';
import type { SplitSource } from '../sources/track-info.js';
import type { Microseconds } from '../time.js';
import type { ChunkSpan, WorkerCodecs } from './plan.js';

/** What every chunk worker of a split encode is started with. */
export interface ChunkWorkerData {
  source: SplitSource;
  /** The codec provider the worker loads. */
  codecs: WorkerCodecs;
  encoder: VideoEncoderConfig;
  keyframeIntervalUs: Microseconds;
  /**
   * On wasm, ffmpeg.wasm compiled once by the main thread (a WebAssembly.Module), which each worker
   * takes instead of compiling its own (32 MB: about 0.2 s of every chunk worker's start).
   */
  wasmModule?: object;
}

/** A packet crossing from a worker: its bytes travel as a transferred buffer. */
export interface ChunkPacket {
  type: EncodedChunkType;
  timestamp: Microseconds;
  duration: Microseconds | null;
  decodeTimestamp: Microseconds | null;
  data: Uint8Array;
}

/** Main thread -> worker: encode this chunk (one at a time per worker). */
export interface EncodeChunk {
  type: 'encode';
  chunk: ChunkSpan;
}

/** Worker -> main thread. */
export type FromChunkWorker =
  | { type: 'packets'; index: number; packets: ChunkPacket[]; decoderConfig?: VideoDecoderConfig }
  | { type: 'done'; index: number; stats: EncoderStats; leadInFrames: number; wallMs: number }
  | { type: 'error'; index: number; code: string; message: string };
