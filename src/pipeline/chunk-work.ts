import type { CodecProvider } from '../codecs/codec-provider.js';
import { EncoderNode } from '../codecs/encoder-node.js';
import { loadCodecProvider } from '../codecs/load-codec-provider.js';
import { AvpipeError, toAvpipeError } from '../errors.js';
import type { VideoDecoderConfig } from '../media/encoded-chunk.js';
import type { VideoFrame } from '../media/video-frame.js';
import { TestPattern } from '../sources/test-pattern.js';
import { frameTimestamp } from '../time.js';
import type { MessagePortLike } from '../worker-script.js';
import { fileChunkFrames, type ChunkFrames } from './chunk-file-frames.js';
import type { ChunkPacket, ChunkWorkerData, EncodeChunk, FromChunkWorker } from './chunk-protocol.js';
import type { ChunkSpan } from './plan.js';

/** Packets per message: fewer hops across threads. */
const BATCH = 16;
/**
 * Media encoded before a chunk's start and thrown away: the encoder's rate control has seen the
 * content by the time the chunk's keyframe comes, as a single encode's has (without it, each chunk's
 * first frames came out 4 dB below a single encode's on the test pattern; with it, within 0.2 dB).
 */
const LEAD_US = 500_000;

/**
 * The work of a split encode's chunk worker, on `port` (a worker thread's, ./chunk-worker.js, or a
 * chunk job's process's): makes the frames of each chunk it is given (the test pattern's,
 * or a file's decoded from the keyframe before) and encodes them with an encoder of its own (a new
 * one per chunk: each starts on a keyframe, with its own rate control), posting the packets in
 * batches, their bytes transferred, not copied.
 */
export function serveChunks(data: ChunkWorkerData, port: MessagePortLike): void {
  // The run's own provider: on wasm, each chunk's encoder is a wasm worker of its own, from the
  // module the main thread compiled.
  const providerReady = (async () => {
    if (data.wasmModule !== undefined) (await import('../codecs/wasm/ffmpeg-wasm.js')).useFfmpegWasmModule(data.wasmModule);
    return loadCodecProvider(data.codecs);
  })();

  function post(message: FromChunkWorker, transfer: ArrayBuffer[] = []): void {
    port.postMessage(message, transfer);
  }

  /** The test pattern's frames `from` up to `end`, made here. */
  function patternFrames(from: number, end: number): ChunkFrames {
    const { width, height, framerate: fps } = data.encoder;
    const pattern = new TestPattern(width, height, fps);
    let next = from;
    return {
      frames: new ReadableStream<VideoFrame>({
        pull: (c) => {
          if (next >= end) return c.close();
          const t = frameTimestamp(next, fps);
          c.enqueue(pattern.frame(next, t, frameTimestamp(next + 1, fps) - t));
          next++;
        },
      }, { highWaterMark: 0 }),
      made: () => next - from,
      close: () => undefined,
    };
  }

  function chunkFrames(provider: CodecProvider, chunk: ChunkSpan, from: number): Promise<ChunkFrames> | ChunkFrames {
    const { source, encoder } = data;
    if (source.type === 'test-pattern') return patternFrames(from, chunk.endFrame);
    return fileChunkFrames(provider, source, { width: encoder.width, height: encoder.height, fps: encoder.framerate }, from, chunk.endFrame, chunk.endUs);
  }

  async function encode(chunk: ChunkSpan): Promise<void> {
    const started = performance.now();
    const provider = await providerReady;
    const fps = data.encoder.framerate;
    const startUs = frameTimestamp(chunk.firstFrame, fps);
    const from = Math.max(0, chunk.firstFrame - Math.ceil((LEAD_US * fps) / 1e6));
    const leadIn = chunk.firstFrame - from;
    // Keyframes on the run's grid from the chunk's own grid point, as a single encode places them.
    const encoder = EncoderNode.video(provider, data.encoder, data.keyframeIntervalUs, 4, chunk.startUs);
    let source: ChunkFrames | undefined;
    const dropped = { chunksOut: 0, bytesOut: 0, keyframes: 0 };
    /** The lead-in's packets are dropped up to the chunk's own keyframe. */
    let inChunk = false;
    try {
      source = await chunkFrames(provider, chunk, from);
      const reader = source.frames.pipeThrough(encoder.stream).getReader();
      let batch: ChunkPacket[] = [];
      let transfer: ArrayBuffer[] = [];
      let decoderConfig: VideoDecoderConfig | undefined;
      const flush = (): void => {
        if (batch.length === 0) return;
        post({ type: 'packets', index: chunk.index, packets: batch, ...(decoderConfig === undefined ? {} : { decoderConfig }) }, transfer);
        decoderConfig = undefined;
        batch = [];
        transfer = [];
      };
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const c = value.chunk;
        // The configuration comes with the encoder's first packet, which may be the lead-in's.
        if (value.metadata.decoderConfig !== undefined) decoderConfig = value.metadata.decoderConfig;
        inChunk ||= c.type === 'key' && c.timestamp >= startUs;
        if (!inChunk) {
          dropped.chunksOut++;
          dropped.bytesOut += c.byteLength;
          if (c.type === 'key') dropped.keyframes++;
          continue;
        }
        // The packet's own buffer when it is the whole of it (transferred), else a copy.
        const bytes = c.data.byteOffset === 0 && c.data.byteLength === c.data.buffer.byteLength && c.data.buffer instanceof ArrayBuffer ? c.data : c.data.slice();
        batch.push({ type: c.type, timestamp: c.timestamp, duration: c.duration, decodeTimestamp: c.decodeTimestamp, data: bytes });
        transfer.push(bytes.buffer as ArrayBuffer);
        if (batch.length >= BATCH) flush();
      }
      flush();
      // A file that gave fewer frames than the span holds would leave a hole in the joined stream.
      if (source.made() !== chunk.endFrame - from) throw new AvpipeError('SOURCE_FAILED', `made ${source.made() - leadIn} of its ${chunk.endFrame - chunk.firstFrame} frames (the input ended early)`);
      // The counters of what the chunk gave; the lead-in's frames are reported apart.
      const s = encoder.toJSON();
      const stats = { ...s, framesIn: s.framesIn - leadIn, chunksOut: s.chunksOut - dropped.chunksOut, bytesOut: s.bytesOut - dropped.bytesOut, keyframes: s.keyframes - dropped.keyframes };
      post({ type: 'done', index: chunk.index, stats, leadInFrames: leadIn, wallMs: Math.round(performance.now() - started) });
    } finally {
      encoder.close();
      source?.close();
    }
  }

  port.on('message', (m: EncodeChunk) => {
    encode(m.chunk).catch((err: unknown) => {
      const e = toAvpipeError('ENCODER_FAILED', `chunk ${m.chunk.index}`, err);
      post({ type: 'error', index: m.chunk.index, code: e.code, message: e.message });
    });
  });
}
