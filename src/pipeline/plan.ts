import type { AudioCodecName, VideoCodecName } from '../config/codecs.js';
import { adoptedEncoding } from './adopt-encoding.js';
import { allowedCodecs, codecsFor, rawMediaOf, takesMedia, type OutputSpec } from '../config/outputs.js';
import type { QueueBoundsInit, QueueInit } from '../config/config-init.js';
import { AUDIO_CODEC_OF, VIDEO_CODEC_OF, type EncodingOptions } from '../config/encoding.js';
import type { PipelineConfig } from '../config/pipeline-config.js';
import { encodingProblems } from '../config/validate.js';
import { VideoRate } from '../convert/video-rate.js';
import { AvpipeError } from '../errors.js';
import type { QueueBounds } from '../queues/bounded-queue.js';
import type { Microseconds } from '../time.js';
import type { SplitSource, TrackInfo } from '../sources/track-info.js';
import { runPolicy, type ResolvedQueues, type RunPolicy } from './run-policy.js';

/** How one track goes through the pipeline. */
export type TrackMode = 'copy' | 'transcode';

type VideoTrack = Extract<TrackInfo, { kind: 'video' }>;
type AudioTrack = Extract<TrackInfo, { kind: 'audio' }>;

/** One output track's branch, fed by one source track (or, for audio, several mixed). */
export type BranchPlan = VideoBranchPlan | AudioBranchPlan;

interface BranchPlanBase {
  readonly mode: TrackMode;
  /** Why it is re-encoded (what the output or the encoding asks, what the source gives); empty for a copy. */
  readonly reasons: readonly string[];
  /** An encoder is made: some output takes encoded media (a transcoded branch without one feeds raw outputs only). */
  readonly encode: boolean;
}
export interface VideoBranchPlan extends BranchPlanBase {
  readonly kind: 'video';
  readonly tracks: readonly [VideoTrack];
  /** Set when the encode is split into chunks encoded at once on worker threads. */
  readonly split: SplitPlan | null;
}

/**
 * A video encode split on the keyframe grid: each chunk is made and encoded by a worker thread from
 * its own start (a keyframe), and the chunks' packets join in order into one stream.
 */
export interface SplitPlan {
  readonly source: SplitSource;
  /** The codec provider each worker loads (the run's own, by name). */
  readonly codecs: WorkerCodecs;
  /** Chunks encoded at once, one worker thread each. */
  readonly workers: number;
  /** Encoder threads per worker: the cores are used once. */
  readonly threads: number;
  readonly chunks: readonly ChunkSpan[];
}

/** One chunk of a split encode: a span of media time and the frames in it. */
export interface ChunkSpan {
  readonly index: number;
  readonly startUs: Microseconds;
  readonly endUs: Microseconds;
  /** Frame indices (at the encoding's rate) from `firstFrame` up to, not including, `endFrame`. */
  readonly firstFrame: number;
  readonly endFrame: number;
}

/**
 * `parallel: 'auto'` splits only runs at least this long: below it, workers' start-up is not paid back.
 * Of files it splits MP4/MOV (ISOBMFF) inputs, whose timing the controller reads from the sample
 * tables first (in another container that reads the whole file); one whose timing does not allow a
 * split is encoded whole. `parallel: N` splits any file it can, and fails saying why where it cannot.
 */
const AUTO_SPLIT_MIN_US = 20_000_000;
/**
 * The longest chunk: a stopped run ends its video after the chunk being handed on. Below it a split
 * makes one chunk per worker: every chunk pays an encoder's start, a lead-in and x264's rate control
 * finding its level again, and three chunks per worker (for balance) cost more than they balanced:
 * 60 s of 720p test source on 2 workers took 9.3-10.1 s in 6 chunks, 7.9-8.3 s in 2; W2 split
 * 17.7-18.4 s against 15.6-15.7 s; on wasm, 20 s of 360p 7.8 s against 5.9 s (single runs).
 */
const MAX_CHUNK_US = 30_000_000;
export interface AudioBranchPlan extends BranchPlanBase {
  readonly kind: 'audio';
  /** One track, or several mixed into one (always transcoded). */
  readonly tracks: readonly AudioTrack[];
  /**
   * The encoder runs on a worker thread, fed in batches: in a non-live run of 20 s or more with the
   * native codecs whose video is not encoded (copied, or none). The main thread then mixes and muxes
   * while another core encodes; where x264 already keeps the cores busy, the worker only cost memory
   * (W1: the same wall, 34 MiB more peak RSS).
   */
  readonly batchEncode: boolean;
}

/** Audio is encoded off the main thread only in runs at least this long: the worker's start-up is paid back. */
const BATCH_ENCODE_MIN_US = 20_000_000;

/** The codecs the muxers get, and whether the video is a copy (which keeps its own timestamps). */
export interface MuxerTracks {
  video?: VideoCodecName;
  videoCopied?: boolean;
  audio?: AudioCodecName;
}

/** Where an output hangs and how its port queues. */
export interface OutputPlan {
  readonly spec: OutputSpec;
  /** Encoded media (files, HLS, streams), or raw video (thumbnails) or audio (a websocket) before the encoder. */
  readonly tee: 'encoded' | 'video' | 'audio';
  readonly bounds: Readonly<QueueBounds>;
  /** A failing output: reported while the others go on, or the run fails. */
  readonly onError: 'isolate' | 'fail';
}

/**
 * What a run is, decided before anything is built: from the config and the tracks the source
 * declared, with no streams, codecs or I/O. The graph only wires it.
 */
export interface PipelinePlan {
  readonly policy: RunPolicy;
  /** Every queue's bounds: the config's, the rest from the policy. */
  readonly queues: Readonly<ResolvedQueues>;
  /** The encoding used: the config's, its open fields taken from the source (validated again). */
  readonly encoding: Readonly<EncodingOptions>;
  /** Time between forced keyframes: the encoding's, made to divide the segment length of an HLS output. */
  readonly keyframeIntervalUs: Microseconds;
  readonly branches: readonly BranchPlan[];
  readonly muxerTracks: Readonly<MuxerTracks>;
  readonly outputs: readonly OutputPlan[];
  /** Set when the run may be a remux: the graph is then not built if the input allows it. */
  readonly remux: RemuxPlan | null;
}

/**
 * A non-live export of one whole MP4 to one MP4 file, every track copied, nothing cut: the media can
 * be copied in large blocks under a rewritten moov instead of muxed packet by packet (if the input,
 * once read, allows it: a fragmented or truncated file, or one with timestamp jumps, does not).
 */
export interface RemuxPlan {
  /** The input file. */
  readonly input: string;
  /** Its tracks the output keeps (tkhd track IDs), and the codec each is named by in the result. */
  readonly tracks: readonly { readonly trackId: number; readonly codec: string }[];
}

/** Which of avpipe's codec providers a worker thread loads: the run's own, by name. */
export type WorkerCodecs = 'native' | 'wasm';

/**
 * What the plan takes from the machine: its cores, the codecs a split's worker threads can load (the
 * run's provider when it is one of avpipe's; null for a provider object, which cannot cross to a
 * worker), whether the run's provider has a batch audio encoder (it makes its own worker), and the
 * memory `parallel: 'auto'`'s workers may take (unbounded when not given).
 */
export interface PlanHost {
  cores: number;
  workerCodecs: WorkerCodecs | null;
  batchAudio: boolean;
  memoryBytes?: number;
  /**
   * A distributed export: the chunks go to a fleet of workers (each its own machine's cores and
   * memory), `chunks` of them, or with `auto` one per {@link FLEET_CHUNK_US} of media (at least 2).
   * The split then insists, as `parallel: N` does, and each chunk's encoder has one thread.
   */
  fleet?: { chunks: number | 'auto' };
}

/** A distributed export's chunk when the count is left to it: 15 s, long enough that a job's start is paid back. */
export const FLEET_CHUNK_US = 15_000_000;
/** The most chunks `auto` makes (a job each, every one reading the input): longer runs get longer chunks. */
const MAX_FLEET_CHUNKS = 256;

/**
 * What one chunk worker adds to a run's memory: its isolate (and on wasm ffmpeg.wasm's heap), the
 * frames its encoder holds at the output's size and its decoder at the source's. Measured one worker
 * apart (x264 veryfast, one thread): native 45 MiB at 640x360, 111 at 1280x720 (a 720p file), 188 at
 * 1920x1080; wasm 61-76 at 640x360. Linear in the frame's bytes that is about 56 frames a worker, of
 * which the decoder's 16 (its references and pool) scale with the source: x264 alone holds about 25
 * frames (lookahead, B-frames, references), each buffer rounded up to whole 2 MB huge pages. Each
 * x264 thread beyond the first holds a few frames more (frame threads each have one in flight).
 */
export function chunkWorkerBytes(output: { width: number; height: number }, source: { width: number; height: number }, threads: number, codecs: WorkerCodecs): number {
  const frame = (f: { width: number; height: number }): number => f.width * f.height * 1.5;
  return (codecs === 'wasm' ? 50 : 32) * 2 ** 20 + (40 + 4 * (threads - 1)) * frame(output) + 16 * frame(source);
}

/** Each worker's share of the cores, as encoder threads: the cores used once. */
function threadsEach(cores: number, workers: number): number {
  return Math.max(1, Math.floor(cores / workers));
}

/** The most workers (up to `cores`) whose estimate fits in `memoryBytes`, each with its share of the cores as threads. */
function workersThatFit(cores: number, memoryBytes: number, bytes: (threads: number) => number): number {
  for (let w = cores; w >= 1; w--) if (w * bytes(threadsEach(cores, w)) <= memoryBytes) return w;
  return 0;
}
const NO_HOST: PlanHost = { cores: 1, workerCodecs: null, batchAudio: false };

/**
 * Plans a run. `sessionEndUs` is where the source says its media ends (a file source's longest
 * input), undefined for a source with no end of its own. Throws `INPUT_INVALID`, naming the track,
 * when the encoding taken from the source is not one avpipe can encode, and `CONFIG_INVALID` when
 * `codecMode: 'copy'` asks for what cannot be copied.
 * @internal
 */
export function planPipeline(config: PipelineConfig, tracks: readonly TrackInfo[], sessionEndUs: Microseconds | undefined, host: Readonly<PlanHost> = NO_HOST): PipelinePlan {
  const policy = runPolicy(config.live);
  const encoding = adoptedEncoding(config, tracks);
  const keyUs = keyframeIntervalUs(config, encoding);
  const encodedOut = config.outputs.some((o) => codecsFor(o) !== undefined);
  const branches: BranchPlan[] = [];
  const muxerTracks: MuxerTracks = {};
  /** x264 (or libvpx) will keep the cores busy: the audio encoder then stays on the main thread. */
  let videoEncoded = false;

  const video = encoding.videoCodec === null ? undefined : tracks.find((t): t is VideoTrack => t.kind === 'video');
  if (video !== undefined && config.outputs.some((o) => takesMedia(o, 'video'))) {
    const raw = config.outputs.some((o) => rawMediaOf(o) === 'video') ? 'thumbnails need decoded frames' : undefined;
    const { mode, reasons } = trackMode(config, encoding, video, sessionEndUs, raw);
    if (encodedOut) {
      muxerTracks.video = mode === 'copy' ? VIDEO_CODEC_OF[video.encoded!.codec]! : encoding.videoCodec!;
      muxerTracks.videoCopied = mode === 'copy';
    }
    const encode = mode === 'transcode' && encodedOut;
    videoEncoded = encode;
    const split = splitPlan(config, policy, encoding, keyUs, video, encode, raw, sessionEndUs, host);
    branches.push({ kind: 'video', tracks: [video], mode, reasons, encode, split });
  }

  const audios = encoding.audioCodec === null ? [] : tracks.filter((t): t is AudioTrack => t.kind === 'audio');
  if (audios.length > 0 && config.outputs.some((o) => takesMedia(o, 'audio'))) {
    const single = audios.length === 1 && (audios[0]!.route ?? 'both') === 'both' ? audios[0] : undefined;
    const many = `${audios.length} audio tracks${audios.some((a) => a.route !== undefined) ? ' with routes' : ''}`;
    if (single === undefined && config.codecMode === 'copy') throw new AvpipeError('CONFIG_INVALID', `${many} must be mixed, which cannot be done by copying`);
    let mode: TrackMode = 'transcode';
    let reasons = [`${many} are mixed`];
    if (single !== undefined) {
      const raw = config.outputs.some((o) => rawMediaOf(o) === 'audio') ? 'a websocket output needs decoded audio' : undefined;
      ({ mode, reasons } = trackMode(config, encoding, single, sessionEndUs, raw));
    }
    if (encodedOut) muxerTracks.audio = mode === 'copy' ? AUDIO_CODEC_OF[single!.encoded!.codec]! : encoding.audioCodec!;
    const encode = mode === 'transcode' && encodedOut;
    const batchEncode = encode && !videoEncoded && !policy.live && host.batchAudio && sessionEndUs !== undefined && sessionEndUs >= BATCH_ENCODE_MIN_US;
    branches.push({ kind: 'audio', tracks: single === undefined ? audios : [single], mode, reasons, encode, batchEncode });
  }

  // The fields the caller left open follow the source, which may give what avpipe cannot encode (a
  // 4000x10 or a 16384-wide input): refused before anything opens, naming the track it came from.
  for (const b of branches) {
    if (b.mode === 'copy') continue;
    const problems = encodingProblems(encoding).filter((p) => kindOfField(p.field) === b.kind);
    if (problems.length === 0) continue;
    const t = b.tracks[0]!;
    throw new AvpipeError('INPUT_INVALID', `${t.label ?? `${t.kind} track ${t.id}`}: the encoding taken from it cannot be made (${problems.map((p) => `${p.field} ${p.message}`).join('; ')}): set ${problems.map((p) => p.field).join(' and ')} to encode it`);
  }

  const queues = resolveQueues(policy.queues, config.queues);
  const outputs = config.outputs.map((spec) => planOutput(queues, policy, spec));
  return { policy, queues, encoding, keyframeIntervalUs: keyUs, branches, muxerTracks, outputs, remux: remuxPlan(config, policy, branches, muxerTracks) };
}

/**
 * Whether and how the video encode is split ({@link SplitPlan}). `parallel: N` insists (and says why
 * it cannot); `auto` splits a long enough run on a machine with cores to spare.
 */
function splitPlan(config: PipelineConfig, policy: RunPolicy, e: EncodingOptions, keyUs: Microseconds, video: VideoTrack, encode: boolean, raw: string | undefined, sessionEndUs: Microseconds | undefined, host: Readonly<PlanHost>): SplitPlan | null {
  const { cores, fleet } = host;
  const asked = config.parallel;
  if (policy.live || (asked === 1 && fleet === undefined)) return null;
  const why = !encode ? 'the video is not encoded (copied, or no output takes it)'
    : raw !== undefined ? raw
      : video.splittable === undefined ? `${video.label ?? 'this video track'} cannot be cut into chunks (the test source and a single input file read through mediabunny can)`
        : video.splittable.type === 'test-pattern' && (video.width !== e.width || video.height !== e.height || video.fps !== e.fps) ? `the encoding asks for ${e.width}x${e.height}@${e.fps} from a ${video.width}x${video.height}@${video.fps} test source (its chunks are made at the encoding's size and rate: set them to the source's)`
        : e.renditions.length > 1 ? 'its renditions are encoded from one decode, in one process'
        : sessionEndUs === undefined ? 'the source has no end'
          : config.limits.maxDurationUs !== undefined || config.limits.maxSizeBytes !== undefined ? 'a limit may end the run before the source does'
            : host.workerCodecs === null ? "its workers load avpipe's own codecs (native or wasm) by name, and a provider object cannot cross to them" : undefined;
  if (why !== undefined) {
    if (fleet !== undefined) throw new AvpipeError('CONFIG_INVALID', `a distributed export cannot split this run: ${why}`);
    if (asked === 'auto') return null;
    throw new AvpipeError('CONFIG_INVALID', `parallel: ${asked} cannot split this run: ${why}`);
  }
  if (fleet !== undefined) return fleetPlan(e, keyUs, video, sessionEndUs!, host.workerCodecs!, fleet.chunks);
  // `auto` takes one worker per core, as many as fit in the memory it may take (4K on many cores would not).
  const { memoryBytes } = host;
  const fit = memoryBytes === undefined ? cores : workersThatFit(cores, memoryBytes, (threads) => chunkWorkerBytes(e, video, threads, host.workerCodecs!));
  const wanted = asked === 'auto' ? fit : asked;
  if (asked === 'auto' && (!(wanted >= 2) || sessionEndUs! < AUTO_SPLIT_MIN_US || (video.splittable!.type === 'file' && video.mp4 === undefined))) return null;
  const endUs = sessionEndUs!;
  // Chunks are whole keyframe intervals (each starts on the grid, where the single encode has a
  // keyframe too), shared out as evenly as they go: one chunk per worker, more only past MAX_CHUNK_US.
  const intervals = Math.ceil(endUs / keyUs);
  const capped = Math.ceil(intervals / Math.max(1, Math.floor(MAX_CHUNK_US / keyUs)));
  // Past the cap, a whole number of chunks per worker: no worker left alone with the last one.
  const count = capped <= wanted ? Math.min(wanted, intervals) : Math.min(intervals, Math.ceil(capped / wanted) * wanted);
  const chunks = chunkSpans(e, keyUs, endUs, count);
  if (chunks.length < 2) return null;
  const workers = Math.min(wanted, chunks.length);
  return { source: video.splittable!, codecs: host.workerCodecs!, workers, threads: threadsEach(cores, workers), chunks };
}

/** A distributed export's split: `chunks` of them (or one per 15 s), all sent out at once, one encoder thread each. */
function fleetPlan(e: EncodingOptions, keyUs: Microseconds, video: VideoTrack, endUs: Microseconds, codecs: WorkerCodecs, asked: number | 'auto'): SplitPlan {
  const count = Math.min(Math.ceil(endUs / keyUs), asked === 'auto' ? Math.min(MAX_FLEET_CHUNKS, Math.max(2, Math.round(endUs / FLEET_CHUNK_US))) : asked);
  const chunks = chunkSpans(e, keyUs, endUs, count);
  if (chunks.length < 2) throw new AvpipeError('CONFIG_INVALID', `distributed: ${(endUs / 1e6).toFixed(1)} s of video makes fewer than 2 chunks on its keyframe grid (${keyUs / 1e6} s): export it whole`);
  return { source: video.splittable!, codecs, workers: chunks.length, threads: 1, chunks };
}

/**
 * `count` chunks of whole keyframe intervals (each starts on the grid, where a single encode has a
 * keyframe too), shared out as evenly as they go, holding as many frames as a single encode makes.
 */
function chunkSpans(e: EncodingOptions, keyUs: Microseconds, endUs: Microseconds, count: number): ChunkSpan[] {
  const intervals = Math.ceil(endUs / keyUs);
  const frameAt = (us: Microseconds): number => Math.max(0, Math.ceil((us * e.fps) / 1e6 - 1e-9));
  // As many frames as a single encode makes: its constant-rate stage's slots before the end.
  const totalFrames = VideoRate.slotsBefore(endUs, e.fps);
  const chunks: ChunkSpan[] = [];
  for (let k = 0; k < count; k++) {
    const startUs = Math.floor((k * intervals) / count) * keyUs;
    const chunkEndUs = Math.min(endUs, Math.floor(((k + 1) * intervals) / count) * keyUs);
    if (frameAt(startUs) >= totalFrames) break;
    chunks.push({ index: chunks.length, startUs, endUs: chunkEndUs, firstFrame: frameAt(startUs), endFrame: k === count - 1 ? totalFrames : Math.min(totalFrames, frameAt(chunkEndUs)) });
  }
  return chunks;
}

/** A remux where the run is a non-live, whole, all-copy MP4 -> MP4 export ({@link RemuxPlan}). */
function remuxPlan(config: PipelineConfig, policy: RunPolicy, branches: readonly BranchPlan[], muxer: MuxerTracks): RemuxPlan | null {
  const [out, ...more] = config.outputs;
  if (policy.live || out === undefined || more.length > 0 || out.kind !== 'file' || out.container !== 'mp4') return null;
  if (config.limits.maxDurationUs !== undefined || config.limits.maxSizeBytes !== undefined) return null;
  if (branches.length === 0 || branches.some((b) => b.mode !== 'copy' || b.tracks.length !== 1)) return null;
  const origins = branches.map((b) => b.tracks[0]!.mp4);
  const input = origins[0]?.path;
  if (input === undefined || origins.some((o) => o?.path !== input)) return null;
  return {
    input,
    tracks: branches.map((b) => ({ trackId: b.tracks[0]!.mp4!.trackId, codec: (b.kind === 'video' ? muxer.video : muxer.audio) ?? '' })),
  };
}

/** Where an output hangs and how its port queues: for the config's outputs and for one added to a running pipeline. @internal */
export function planOutput(queues: Readonly<ResolvedQueues>, policy: RunPolicy, spec: OutputSpec): OutputPlan {
  const tee = rawMediaOf(spec) ?? 'encoded';
  return {
    spec, tee,
    bounds: tee === 'encoded' ? queues.output : tee === 'video' ? queues.video : queues.audio,
    onError: spec.kind === 'stream' ? policy.streamFailure : 'fail',
  };
}

/** Every queue's bounds: each default of the run's policy unless the config sets it (a number: items). @internal */
export function resolveQueues(defaults: Readonly<ResolvedQueues>, given: Readonly<QueueInit>): ResolvedQueues {
  return {
    video: resolveBounds(defaults.video, given.video),
    audio: resolveBounds(defaults.audio, given.audio),
    encoder: given.encoder ?? defaults.encoder,
    output: resolveBounds(defaults.output, given.output),
  };
}

/** A queue's bounds from its default and what the caller gave (a number: items). */
function resolveBounds(base: QueueBounds, given: number | QueueBoundsInit | undefined): QueueBounds {
  if (given === undefined) return base;
  if (typeof given === 'number') return { ...base, items: given };
  return {
    items: given.items ?? base.items,
    bytes: given.bytes ?? base.bytes,
    timeUs: given.seconds === undefined ? base.timeUs : Math.round(given.seconds * 1e6),
  };
}

/** Which track kind an encoding field is for. */
function kindOfField(field: string): 'video' | 'audio' {
  return /audio|sampleRate|channels/i.test(field) ? 'audio' : 'video';
}

/** Copy or transcode, by the config's codec mode and whether anything asks for a change; and why. */
function trackMode(config: PipelineConfig, e: EncodingOptions, track: TrackInfo, sessionEndUs: number | undefined, needsRaw: string | undefined): { mode: TrackMode; reasons: string[] } {
  const allowed = allowedCodecs(config.outputs);
  const reasons: string[] = needsRaw === undefined ? [] : [needsRaw];
  if (track.encoded === undefined) reasons.push('the source gives raw frames');
  else if (track.encoded.noCopy !== undefined) reasons.push(track.encoded.noCopy);
  else if (track.kind === 'video') {
    const codec = VIDEO_CODEC_OF[track.encoded.codec];
    if (codec === undefined || (allowed !== undefined && !allowed.video.includes(codec))) reasons.push(`${track.encoded.codec} is not allowed in the output`);
    if (codec !== e.videoCodec) reasons.push(`the encoding asks for ${String(e.videoCodec)}`);
    if (track.width !== e.width || track.height !== e.height) reasons.push(`the encoding asks for ${e.width}x${e.height}`);
    if (config.encodingGiven.has('fps') && track.fps !== e.fps) reasons.push(`the encoding asks for ${e.fps} fps`);
    if (e.renditions.length > 1) reasons.push(`the encoding asks for ${e.renditions.length} renditions`);
    // A video that ends a frame or more before the session must be extended (last frame held): re-encode.
    if (sessionEndUs !== undefined && track.endUs !== undefined && sessionEndUs - track.endUs >= 1e6 / track.fps) reasons.push('it ends before the other inputs');
  } else {
    const codec = AUDIO_CODEC_OF[track.encoded.codec];
    if (codec === undefined || (allowed !== undefined && !allowed.audio.includes(codec))) reasons.push(`${track.encoded.codec} is not allowed in the output`);
    if (codec !== e.audioCodec) reasons.push(`the encoding asks for ${String(e.audioCodec)}`);
    if (track.sampleRate !== e.sampleRate || track.channels !== e.channels) reasons.push(`the encoding asks for ${e.sampleRate} Hz x${e.channels}`);
    // Audio that starts late is filled with silence from the session start: re-encode.
    if ((track.startUs ?? 0) > 0) reasons.push('it starts after the session start');
  }
  // A copy of a span starts at a keyframe before it; only an MP4 file's edit list hides that lead-in.
  const cutAt = track.trim?.startUs;
  if (cutAt !== undefined && !(cutAt === 0 && !config.live && config.outputs.every((o) => o.kind === 'file' && o.container === 'mp4'))) {
    reasons.push(cutAt > 0 ? 'it is trimmed and starts after the session start' : 'it is trimmed at its start, which only an MP4 file (an edit list) keeps exact in a copy');
  }
  if (config.codecMode === 'transcode') return { mode: 'transcode', reasons: ['the config asks to transcode', ...reasons] };
  if (reasons.length === 0) return { mode: 'copy', reasons };
  if (config.codecMode === 'copy') throw new AvpipeError('CONFIG_INVALID', `track ${track.id} cannot be copied: ${reasons.join('; ')}`);
  return { mode: 'transcode', reasons };
}

/**
 * Time between forced keyframes: the encoding's, made to divide the segment length when there is a
 * segments output (every segment then starts on a keyframe, as HLS wants).
 */
function keyframeIntervalUs(config: PipelineConfig, encoding: EncodingOptions): Microseconds {
  const keyUs = Math.round(encoding.keyframeInterval * 1e6);
  const seg = config.outputs.find((o) => o.kind === 'segments');
  if (seg === undefined) return keyUs;
  const segUs = Math.round(seg.segmentDuration * 1e6);
  // The largest interval no longer than the asked one that divides the segment evenly.
  const n = Math.max(1, Math.ceil(segUs / keyUs));
  // Rounded down: a frame on a true grid point (5/3 s: frame 125 at 25 fps, 5 s) is at or past the
  // whole-microsecond point, where rounded up it fell a microsecond short and the keyframe came a frame late.
  return Math.floor(segUs / n);
}
