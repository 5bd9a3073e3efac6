import type { PipelineConfig } from '../config/pipeline-config.js';

/** What a job is expected to take from the worker that runs it. */
export interface JobCost {
  /** CPU, in cores (CPU-seconds per second). */
  cpu: number;
  /** Memory, bytes. */
  memoryBytes: number;
}

/**
 * CPU-seconds per megapixel made and encoded, by codec: measured on this project's bench machine
 * (a live 10 s test-source record with the native provider, less the run's fixed cost). 720p30 H.264
 * is 0.32 cores, 1080p30 0.65, VP8 at 720p30 0.56, VP9 0.39.
 */
const CPU_PER_MEGAPIXEL: Readonly<Record<string, number>> = { h264: 0.0095, vp8: 0.018, vp9: 0.012 };
/** A live run's cost apart from the video: audio made and encoded, the graph, the muxer (0.06 cores). */
const LIVE_BASE_CPU = 0.06;
/** What the wasm provider costs against the native one (measured: 3 to 4 times the CPU per frame). */
const WASM_FACTOR = 3.5;
/** A copy moves packets: a live one costs little; a non-live one is bound by the disk, half a core. */
const COPY_CPU = { live: 0.05, replay: 0.5 };
/** A distributed export's own job: the audio, the chunks' packets read back and joined, the muxer. */
const DISTRIBUTED_CPU = 0.25;
/** A distributed export's chunk: one encoder thread, and its decoder when the source is a file. */
export const CHUNK_CPU = 1;
/** A run's memory apart from its frames (the graph, the codecs' state, the muxer), measured. */
const BASE_BYTES = 45 * 2 ** 20;
/** Memory per pixel of the output frame: the encoder's lookahead and the queues (measured: 720p 165 MiB, 1080p 290). */
const BYTES_PER_PIXEL = 120;

/**
 * A job's expected cost, from its config alone (the worker has not opened its inputs yet): what
 * admission counts against `--max-cpu` and the memory free.
 *
 * A live run is paced at 1x, so its CPU follows the video it encodes: pixels per second times the
 * codec's measured cost (a copy costs almost nothing). A non-live run goes as fast as it can: it
 * takes every core it is given, so its cost is the threads it runs (the split's workers, `cores`
 * for `parallel: 'auto'`). A file's size is not known before it is opened: the encoding asked for,
 * or avpipe's default (720p30), stands for it; `cost` on the job overrides the estimate.
 */
export function estimateJobCost(config: PipelineConfig, cores: number, distributed = false): JobCost {
  const enc = config.encoding;
  // A distributed export's own job decodes and encodes the audio and joins the chunks the fleet encodes.
  if (distributed) return { cpu: DISTRIBUTED_CPU, memoryBytes: BASE_BYTES + 20 * 2 ** 20 };
  const copy = config.codecMode === 'copy';
  const pixels = enc.videoCodec === null ? 0 : enc.width * enc.height;
  const provider = config.codecProvider === 'wasm' ? WASM_FACTOR : 1;
  if (config.live) {
    const video = copy || enc.videoCodec === null ? 0 : (pixels * enc.fps * (CPU_PER_MEGAPIXEL[enc.videoCodec] ?? 0.02)) / 1e6;
    const cpu = copy ? COPY_CPU.live : LIVE_BASE_CPU + video * provider;
    return { cpu: round(cpu), memoryBytes: BASE_BYTES + (copy ? 0 : pixels * BYTES_PER_PIXEL) };
  }
  if (copy) return { cpu: COPY_CPU.replay, memoryBytes: BASE_BYTES };
  const threads = config.parallel === 'auto' ? cores : Math.min(config.parallel, cores);
  return { cpu: Math.max(1, threads), memoryBytes: BASE_BYTES + pixels * BYTES_PER_PIXEL * Math.max(1, threads) };
}

/** A chunk job's cost: one encoder thread at the output's size (and a decoder at most as large). */
export function chunkJobCost(width: number, height: number): JobCost {
  return { cpu: CHUNK_CPU, memoryBytes: BASE_BYTES + width * height * BYTES_PER_PIXEL };
}

function round(cpu: number): number {
  return Math.round(cpu * 1000) / 1000;
}
