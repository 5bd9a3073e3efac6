import { setMaxListeners } from 'node:events';
import type { AudioData } from '../media/audio-data.js';
import type { CodecProvider, VideoEncoderConfig } from '../codecs/codec-provider.js';
import { audioCodecString, videoCodecString } from '../codecs/codec-strings.js';
import { DecoderNode, type DecoderStats } from '../codecs/decoder-node.js';
import { EncoderNode, type EncoderStats } from '../codecs/encoder-node.js';
import type { EncodedAudioOutput, EncodedChunk, EncodedOutput, EncodedVideoOutput } from '../media/encoded-chunk.js';
import type { VideoFrame } from '../media/video-frame.js';
import { redactUrl } from '../config/redact.js';
import { codecsFor, outputLabel, outputName, type OutputSpec } from '../config/outputs.js';
import type { PipelineConfig } from '../config/pipeline-config.js';
import type { TrackInfo, TrackTrim } from '../sources/track-info.js';
import { AudioMixer } from '../convert/audio-mixer.js';
import type { AudioResampler } from '../convert/audio-resampler.js';
import { MixerNode, type SessionEnd } from '../convert/mixer-node.js';
import { VideoRate } from '../convert/video-rate.js';
import { SincResampler } from '../convert/sinc-resampler.js';
import { DriftCorrector } from '../convert/drift-corrector.js';
import { audioWithin } from '../convert/audio-span.js';
import { AvpipeError, toAvpipeError } from '../errors.js';
import type { QueueBounds, QueueMeasure, QueueStats } from '../queues/bounded-queue.js';
import { MEDIA_MEASURE } from '../queues/media-measure.js';
import { QueueNode } from '../queues/queue-node.js';
import type { FileDone, OutputNode, OutputPort } from '../sinks/output-node.js';
import type { Source, SourceMedia } from '../sources/source.js';
import { frameTimestamp, type Microseconds } from '../time.js';
import { Interleaver } from './interleaver.js';
import { buildOutput, type OutputResult, type OutputContext } from './outputs.js';
import { ChunkPool, type ChunkResult } from './chunk-pool.js';
import type { ChunkRunnerFactory } from './chunk-runner.js';
import { planOutput, type SplitPlan, type AudioBranchPlan, type BranchPlan, type OutputPlan, type PipelinePlan, type TrackMode, type VideoBranchPlan } from './plan.js';
import type { PipelineRun, TrackResult } from './pipeline-run.js';
import { SessionExtent } from './session-extent.js';
import { PauseCuts, type PauseRecord } from './pause-cuts.js';
import { copyPauseGate, rawPauseGate } from './pause-gate.js';
import { videoScaling } from './video-scaling.js';
import type { FrameScaler } from '../convert/frame-scaler.js';
import type { Rendition } from '../config/encoding.js';
import { Tee, type TeeItemOps, type TeePortStats } from '../queues/tee.js';

/**
 * A track that ended early is extended as far as the session's reach while the others run, and this
 * much further each time the interleaver waits for it (its encoder's lookahead holds the last frames).
 */
const HOLD_STEP_US = 100_000;
/** A declared end at most this far past the last real item is the last item's duration, not a lie. */
const DECLARED_END_TOLERANCE_US = 1_000_000;
/** How long a live stream output may take to send what it still holds once the run has ended. */
const STREAM_DRAIN_MS = 1500;
/** Encoded chunks a decoder may hold before its input waits. */
const DECODE_QUEUE = 4;

/** Why a graph asks its controller to end the run early. */
export type LimitKind = 'duration' | 'size';

/** What a graph is built from. */
export interface GraphInit {
  config: PipelineConfig;
  source: Source;
  /** The tracks the source declared (its `prepare()`). */
  tracks: readonly TrackInfo[];
  /** The run's plan, from the config and those tracks. */
  plan: PipelinePlan;
  /** Gives the codec provider; called only when a track is decoded or encoded (a pure copy loads none). */
  provider: () => Promise<CodecProvider>;
  /**
   * Called once when a limit is hit. A duration limit ends each track by itself at the limit; a size
   * limit needs the controller to stop the source.
   */
  onLimit: (kind: LimitKind) => void;
  /** Told of every finished file (uploads). */
  onFile?: FileDone;
  /** Who encodes a split's chunks; this process's worker threads when not given. */
  chunkRunner?: ChunkRunnerFactory;
}

/** Gives a source track's stream. */
type OpenTrack = (track: TrackInfo) => ReadableStream<SourceMedia>;

/** One output track's branch (fed by one source track, or several mixed): its nodes, for running and counters. */
type Branch = CopyBranch | TranscodeBranch | SplitBranch;

interface BranchBase {
  tracks: readonly TrackInfo[];
  kind: 'video' | 'audio';
  reasons: readonly string[];
  close: () => void;
}

/** source -> blocking queue -> interleaver: the packets as they came, the decoder config on the first. */
interface CopyBranch extends BranchBase {
  mode: 'copy';
  queue: QueueNode<SourceMedia>;
  build: (open: OpenTrack, signal: AbortSignal) => ReadableStream<EncodedOutput>;
}

/**
 * A video encode split into chunks ({@link SplitPlan}): worker threads make and encode the frames, the
 * pool hands their packets on in order -> interleaver. The source's own video track is never opened.
 */
interface SplitBranch extends BranchBase {
  mode: 'split';
  pool: ChunkPool;
  build: (signal: AbortSignal) => ReadableStream<EncodedOutput>;
}

/**
 * source -> [decode -> convert] -> raw frames or audio for the branch's raw tee, where the encoder is
 * one port (its queue the branch's raw queue) beside any raw output (thumbnails, a websocket).
 */
interface TranscodeBranch extends BranchBase {
  mode: 'transcode';
  /** Bounds of the raw queue before the encoder. */
  bounds: QueueBounds;
  decoders: (DecoderNode<VideoFrame> | DecoderNode<AudioData>)[];
  /** Undefined when no output takes encoded media. */
  encoder: EncoderNode<VideoFrame, EncodedVideoOutput> | EncoderNode<AudioData, EncodedAudioOutput> | undefined;
  /** A ladder's other rungs: each a port of the raw tee beside the encoder, scaled and encoded again. */
  rungs: readonly Rung[];
  /** Audio tracks whose drift is corrected (declared `clockDrift`), by track ID. */
  drift?: ReadonlyMap<string, DriftCorrector>;
  build: (open: OpenTrack, signal: AbortSignal) => ReadableStream<VideoFrame | AudioData>;
}

/** A rendition after the first: its scaler (none at the same size) and encoder. */
interface Rung {
  name: string;
  scaler: FrameScaler | undefined;
  encoder: EncoderNode<VideoFrame, EncodedVideoOutput>;
}

/** The interleaver's (and the tee's decoder-config) key of an encoded item: its kind, or its rung's. */
function streamKey(item: EncodedOutput): string {
  return item.kind === 'video' && item.rendition !== undefined ? `video-${item.rendition}` : item.kind;
}

/** Encoded chunks are GC-owned and read-only: shared as they are. */
const ENCODED_OPS: TeeItemOps<EncodedOutput> = {
  share: (item) => item,
  release: () => undefined,
  canStart: (item) => (item.kind === 'video' ? item.chunk.type === 'key' : undefined),
  primeKey: streamKey,
  prime: (item, seen) => {
    const first = seen.get(streamKey(item));
    const decoderConfig = first?.metadata.decoderConfig;
    return decoderConfig === undefined || item.metadata.decoderConfig !== undefined ? item : { ...item, metadata: { decoderConfig } } as EncodedOutput;
  },
};
/** Raw frames and audio: each consumer closes its own handle. */
const RAW_OPS: TeeItemOps<VideoFrame | AudioData> = {
  share: (item) => item.clone(),
  release: (item) => item.close(),
};

/** An output and the tee it hangs on. */
interface AttachedOutput {
  node: OutputNode<unknown, OutputResult>;
  tee: 'encoded' | 'video' | 'audio';
  /** Its tee ports' names: its own, or one per rendition of an HLS ladder. */
  ports: readonly string[];
  /** Taken off the running pipeline (already finalized). */
  removed?: boolean;
}

/**
 * The pipeline graph, wired from its plan: per transcoded track, source -> [decoder -> converter] ->
 * a raw tee whose ports are bounded queues, one to the encoder and one to each raw output (thumbnails,
 * websocket audio); the encoded tracks interleaved into one stream, then a tee with one bounded queue
 * per output (file, HLS, stream). A copied track goes source -> queue -> interleaver. All Web Streams, so backpressure is the
 * platform's: live runs get drop-oldest queues, non-live runs blocking ones (nothing dropped, the
 * source paced by the slowest stage or output).
 * @internal
 */
export class Graph implements PipelineRun {
  private readonly _branches: Branch[];
  private readonly _init: GraphInit;
  /** What the run is: the graph wires it. */
  readonly plan: PipelinePlan;
  private readonly _outputs: AttachedOutput[] = [];
  private readonly _interleaver: Interleaver;
  private readonly _tees: { encoded: Tee<EncodedOutput>; video: Tee<VideoFrame | AudioData>; audio: Tee<VideoFrame | AudioData> };
  private readonly _ctx: OutputContext;
  private readonly _abort = (() => {
    const ac = new AbortController();
    // Every pipe of every branch listens to this one signal: more than Node's default of 10.
    setMaxListeners(0, ac.signal);
    return ac;
  })();
  private _firstError: AvpipeError | undefined;
  private _limitHit = false;
  private _outputsGone: (() => void) | undefined;
  /** How far the source's media really reaches: tracks that end early are held or silent that far. */
  private readonly _extent: SessionExtent;
  /** A live run's pauses, cut out of its outputs' timeline. */
  private readonly _cuts: PauseCuts | undefined;

  private constructor(init: GraphInit, plan: PipelinePlan, branches: Branch[], extent: SessionExtent) {
    const { config } = init;
    this._init = init;
    this.plan = plan;
    this._extent = extent;
    this._branches = branches;
    // Pauses cut on the video's frame grid when avpipe makes the frames (a copy keeps its own times).
    const fps = branches.some((b) => b.kind === 'video' && b.mode === 'transcode') ? plan.encoding.fps : undefined;
    this._cuts = !plan.policy.live ? undefined : new PauseCuts(fps === undefined ? (us) => us : (us) => nextSlot(us, fps));
    const signal = this._abort.signal;
    const fail = (e: AvpipeError): void => this.fail(e);
    this._tees = {
      // Muxers and stream outputs never block the thread: the encoded tee lets them catch up on a burst.
      encoded: new Tee<EncodedOutput>('encoded', ENCODED_OPS, signal, fail, true),
      video: new Tee<VideoFrame | AudioData>('video', RAW_OPS, signal, fail),
      audio: new Tee<VideoFrame | AudioData>('audio', RAW_OPS, signal, fail),
    };
    // Every encoder is a port of its branch's raw tee, live or not: one wiring, and a raw output (a
    // websocket) can join a live run while it goes. Its counters are its port's.
    for (const b of branches) {
      if (b.mode !== 'transcode' || b.encoder === undefined) continue;
      this._tees[b.kind].addPort({
        name: b.kind, consumer: b.encoder.stream.writable as WritableStream<VideoFrame | AudioData>, bounds: b.bounds, measure: MEDIA_MEASURE,
        policy: plan.policy.queuePolicy, onError: 'fail', late: false,
      });
      // A ladder's rungs: the same frames, scaled down and encoded again, each with its own queue.
      for (const r of b.rungs) {
        const scale = new TransformStream<VideoFrame, VideoFrame>({ transform: (frame, c) => c.enqueue(r.scaler === undefined ? frame : r.scaler.scale(frame)) });
        void scale.readable.pipeTo(r.encoder.stream.writable, { signal }).catch(() => undefined);
        this._tees.video.addPort({
          name: `video-${r.name}`, consumer: scale.writable as WritableStream<VideoFrame | AudioData>, bounds: b.bounds, measure: MEDIA_MEASURE,
          policy: plan.policy.queuePolicy, onError: 'fail', late: false,
        });
      }
    }
    const keys = branches.filter((b) => b.mode !== 'transcode' || b.encoder !== undefined)
      .flatMap((b) => [b.kind, ...(b.mode === 'transcode' ? b.rungs.map((r) => `video-${r.name}`) : [])]);
    this._interleaver = new Interleaver(keys, plan.policy.interleaveUs, (key, waiting) => extent.waitedFor(key.startsWith('video') ? 'video' : 'audio', waiting));
    this._ctx = {
      config, encoding: plan.encoding, fileWrites: plan.policy.fileWrites, muxerTracks: plan.muxerTracks,
      onSize: (size) => {
        const max = config.limits.maxSizeBytes;
        if (max !== undefined && size >= max) this._limit('size');
      },
      provider: init.provider,
      ...(init.onFile === undefined ? {} : { onFile: init.onFile }),
    };
  }

  /** Builds the graph for the tracks the source declared (after `source.prepare()`): wires the plan. */
  static async build(init: GraphInit): Promise<Graph> {
    const { source, tracks, plan } = init;
    const e = plan.encoding;
    if (!tracks.some((t) => (t.kind === 'video' ? e.videoCodec : e.audioCodec) !== null)) throw new AvpipeError('SOURCE_FAILED', `source ${source.name} declared no track the encoding asks for`);
    const extent = new SessionExtent();
    const branches: Branch[] = [];
    for (const b of plan.branches) {
      if (b.mode === 'copy') branches.push(copyBranch(plan, b));
      else if (b.kind === 'video' && b.split !== null) branches.push(splitBranch(plan, b, b.split, init.chunkRunner));
      else branches.push(b.kind === 'video' ? await videoBranch(init, plan, b, extent) : await audioBranch(init, plan, b, extent));
    }
    const graph = new Graph(init, plan, branches, extent);
    for (const o of plan.outputs) await graph._attach(o, false);
    return graph;
  }

  /** True once a limit ended (or is ending) the run. */
  get limitReached(): boolean {
    return this._limitHit;
  }

  /** The first real error of the run, if any (not the aborts it caused). */
  get error(): AvpipeError | undefined {
    return this._firstError;
  }

  /** Opens every output (headers, connections). */
  async open(): Promise<void> {
    for (const o of this._outputs) await o.node.start();
  }

  /**
   * Runs every branch to its end of stream and every output to the end of what it was given. On the
   * first failure the rest is aborted and the failure is thrown.
   */
  async run(): Promise<void> {
    const { source, config } = this._init;
    const signal = this._abort.signal;
    const maxUs = config.limits.maxDurationUs;
    // An aborted run ends the extent too: nothing waits on tracks that will not come.
    signal.addEventListener('abort', () => this._extent.close(), { once: true });
    // Tapped only when something holds a track to the session's end or a duration limit cuts it: a
    // copy-only run hands the source's packets on with no stage between.
    const tap = this._extent.needed || maxUs !== undefined;
    const open = (track: TrackInfo): ReadableStream<SourceMedia> => (tap ? source.readable(track.id).pipeThrough(this._trackTap(track.id, maxUs), { signal }) : source.readable(track.id));
    const guard = (what: string, p: Promise<void>): Promise<void> => p.catch((err: unknown) => {
      this.fail(toAvpipeError('SOURCE_FAILED', `${what} failed`, err));
      throw this._firstError;
    });
    const runs: Promise<void>[] = this._branches.map((b) => {
      // Named after where its tracks come from: a decoder that cannot open says which file and track.
      const from = b.tracks.map((t) => t.label).filter((l) => l !== undefined);
      const branch = from.length === 0 ? `${b.kind} branch` : `${b.kind} branch (${from.join('; ')})`;
      const cuts = this._cuts;
      if (b.mode === 'copy') {
        const copied = b.build(open, signal);
        const id = b.tracks[0]!.id;
        const gated = cuts === undefined ? copied : copied.pipeThrough(copyPauseGate(cuts, () => source.requestKeyframe?.(id)), { signal });
        return guard(branch, gated.pipeTo(this._interleaver.writable(b.kind), { signal }));
      }
      if (b.mode === 'split') return guard(`${b.kind} split encode`, b.build(signal).pipeTo(this._interleaver.writable(b.kind), { signal }));
      const tee = this._tees[b.kind];
      const encoded = b.encoder === undefined ? Promise.resolve()
        : guard(`${b.kind} encoder`, (b.encoder.stream.readable as ReadableStream<EncodedOutput>).pipeTo(this._interleaver.writable(b.kind), { signal }));
      const rungs = b.rungs.map((r) => guard(`video encoder ${r.name}`, r.encoder.stream.readable
        .pipeThrough(new TransformStream<EncodedVideoOutput, EncodedOutput>({ transform: (o, c) => c.enqueue({ ...o, rendition: r.name }) }), { signal })
        .pipeTo(this._interleaver.writable(`video-${r.name}`), { signal })));
      const raw = b.build(open, signal);
      // After a cut every video encoder (each rung's too) starts on a keyframe.
      const keyAfterCut = (at: Microseconds): void => {
        for (const e of [b.encoder, ...b.rungs.map((r) => r.encoder)]) e?.keyframeAt?.(at);
      };
      const gated = cuts === undefined ? raw : raw.pipeThrough(rawPauseGate(cuts, b.kind === 'video' ? keyAfterCut : undefined), { signal });
      return Promise.all([guard(branch, gated.pipeTo(tee.writable, { signal })), encoded, ...rungs, tee.done(false)]).then(() => undefined);
    });
    runs.push(guard('outputs', this._interleaver.readable.pipeTo(this._tees.encoded.writable, { signal })));
    runs.push(this._tees.encoded.done(false));
    try {
      await Promise.all(runs);
      if (this._firstError !== undefined) throw this._firstError;
    } finally {
      await Promise.allSettled(runs);
      for (const b of this._branches) b.close();
    }
  }

  /** The run is stopped: a split encode ends after the chunk it is handing on (the source ends the rest). */
  ending(): void {
    for (const b of this._branches) if (b.mode === 'split') b.pool.finish();
  }

  /** Aborts every branch with `error` (kept as the run's error if it is the first). */
  fail(error: AvpipeError): void {
    if (this._firstError === undefined && !this._abort.signal.aborted) this._firstError = error;
    if (!this._abort.signal.aborted) this._abort.abort(this._firstError ?? error);
  }

  /**
   * Completes every output: each finalized and playable, or removed. After trying them all, throws
   * the first fatal failure, else the first non-fatal one (a live stream that gave up).
   */
  async finalize(): Promise<void> {
    const errors: unknown[] = [];
    for (const o of this._outputs) {
      if (o.removed === true) continue;
      // The run does not wait for live stream ports (a stalled server must not hold it): give each a
      // moment to deliver what it holds before it is closed.
      // An abort (a second Ctrl-C) cuts that moment short.
      let timer: NodeJS.Timeout | undefined;
      const signal = this._abort.signal;
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<void>((r) => {
        if (signal.aborted) r();
        else signal.addEventListener('abort', (onAbort = () => r()), { once: true });
      });
      await Promise.race([Promise.all(o.ports.map((p) => this._tees[o.tee].portDone(p))), new Promise((r) => (timer = setTimeout(r, STREAM_DRAIN_MS))), aborted]);
      clearTimeout(timer);
      if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
      try {
        await o.node.finalize();
      } catch (err) {
        errors.push(err);
      }
    }
    const fatal = errors.find((e) => !(e instanceof AvpipeError) || e.fatal);
    if (fatal !== undefined || errors.length > 0) throw fatal ?? errors[0];
  }

  /** Removes every output without finalizing (a run aborted before it was active). */
  async discard(): Promise<void> {
    for (const o of this._outputs) await o.node.discard().catch(() => undefined);
  }

  /**
   * Adds a stream output to the running live pipeline (egress's UpdateStream). It joins at the next
   * keyframe, with the decoder configs it needs.
   */
  async addOutput(spec: OutputSpec): Promise<void> {
    const takes = codecsFor(spec);
    const t = this._ctx.muxerTracks;
    if (takes !== undefined) {
      const bad = [t.video !== undefined && !takes.video.includes(t.video) ? t.video : undefined, t.audio !== undefined && !takes.audio.includes(t.audio) ? t.audio : undefined].filter((x) => x !== undefined);
      if (bad.length > 0) throw new AvpipeError('CONFIG_INVALID', `${outputLabel(spec)} cannot carry ${bad.join(' and ')}, which this pipeline encodes (it takes ${[...takes.video, ...takes.audio].join(', ')}): start the pipeline with those codecs`);
    }
    if (this._outputs.some((o) => o.node.name === outputName(spec) && o.removed !== true)) throw new AvpipeError('CONFIG_INVALID', `${outputLabel(spec)} is already an output`);
    await this._attach(planOutput(this.plan.queues, this.plan.policy, spec), true);
  }

  /** Removes an output from the running pipeline: what it holds is delivered, then it is finalized. */
  async removeOutput(name: string): Promise<OutputResult> {
    const i = this._outputs.findIndex((o) => o.node.name === name && o.removed !== true);
    if (i < 0) throw new AvpipeError('CONFIG_INVALID', `no output named ${name.includes('://') ? redactUrl(name) : name}`);
    const o = this._outputs[i]!;
    for (const p of o.ports) await this._tees[o.tee].removePort(p);
    await o.node.finalize().catch(() => undefined);
    o.removed = true;
    if (this._outputs.every((x) => x.removed === true)) this._outputsGone?.();
    return o.node.result();
  }

  /** Starts cutting the media from the next frame on (live runs); false when already paused or not live. */
  pause(): boolean {
    return this._cuts?.pause(Date.now()) ?? false;
  }

  /** Ends the cut: what follows plays on from where the pause began; false when not paused. */
  resume(): boolean {
    return this._cuts?.resume(Date.now()) ?? false;
  }

  /** True between pause() and resume(). */
  get paused(): boolean {
    return this._cuts?.paused ?? false;
  }

  /** Each pause so far, on the outputs' timeline. */
  pauses(): PauseRecord[] {
    return this._cuts?.records() ?? [];
  }

  /** Tells the outputs that report mutes (WebSocket audio) that a track kind was muted or unmuted. */
  setMuted(kind: 'video' | 'audio', muted: boolean): void {
    for (const o of this._outputs) {
      const node = o.node as { setMuted?: (m: boolean) => void };
      if (o.removed !== true && o.tee === kind && typeof node.setMuted === 'function') node.setMuted(muted);
    }
  }

  /** Called when the last output is removed (the controller then ends the run). */
  onOutputsGone(fn: () => void): void {
    this._outputsGone = fn;
  }

  /** Counters of every queue that ran: copied tracks' queues, then the raw tees' ports (encoders first), then the outputs'. */
  queueStats(): (QueueStats | TeePortStats)[] {
    const copied = this._branches.flatMap((b) => (b.mode === 'copy' ? [b.queue.toJSON()] : []));
    return [...copied, ...this._tees.video.toJSON(), ...this._tees.audio.toJSON(), ...this._tees.encoded.toJSON()];
  }

  /**
   * For progress: the items a track kind's branch took in, from the node that took them: a copy's
   * queue (packets), else its encoder's port (frames after conversion; 0 when no encoder runs).
   */
  itemsIn(kind: 'video' | 'audio'): number {
    const b = this._branches.find((x) => x.kind === kind);
    if (b === undefined) return 0;
    if (b.mode === 'copy') return b.queue.toJSON().in;
    if (b.mode === 'split') return b.pool.handedOn;
    return this._tees[kind].portStats(kind)?.in ?? 0;
  }

  /** Counters of every encoder. */
  encoderStats(): EncoderStats[] {
    return this._branches.flatMap((b) => (b.mode === 'split' ? [b.pool.stats()] : b.mode === 'copy' || b.encoder === undefined ? [] : [b.encoder.toJSON(), ...b.rungs.map((r) => r.encoder.toJSON())]));
  }

  /** Counters of every decoder. */
  decoderStats(): DecoderStats[] {
    return this._branches.flatMap((b) => (b.mode !== 'transcode' ? [] : b.decoders.map((d) => d.toJSON())));
  }

  /** Per track: copied or transcoded. */
  trackModes(): TrackResult[] {
    return this._branches.flatMap((b) => b.tracks.map((t) => {
      const drift = b.mode === 'transcode' ? b.drift?.get(t.id)?.toJSON() : undefined;
      return { id: t.id, kind: b.kind, mode: b.mode === 'split' ? 'transcode' : b.mode, reasons: b.reasons, ...(drift === undefined ? {} : { drift }) };
    }));
  }

  /** The chunks of a split encode, in order; empty when the run was not split. */
  chunks(): ChunkResult[] {
    return this._branches.flatMap((b) => (b.mode === 'split' ? b.pool.chunks() : []));
  }

  /** Media time complete in every output: the slowest output's. */
  mediaTime(): Microseconds {
    const times = this._outputs.map((o) => o.node.mediaTime()).filter((t): t is number => t !== undefined);
    return times.length === 0 ? 0 : Math.min(...times);
  }

  /** Bytes written to all outputs. */
  bytes(): number {
    return this._outputs.reduce((n, o) => n + o.node.bytes, 0);
  }

  /** Every output's entry in the result, in config order. */
  outputResults(): OutputResult[] {
    return this._outputs.map((o) => {
      const r = o.node.result();
      const e = o.ports.map((p) => this._tees[o.tee].portError(p)).find((x) => x !== undefined);
      return e === undefined || ('error' in r && r.error !== null) ? r : { ...r, error: e.message };
    });
  }

  private async _attach(o: OutputPlan, late: boolean): Promise<void> {
    const node = await buildOutput(o.spec, this._ctx);
    if (late) await node.start();
    const name = outputName(o.spec);
    // With a ladder, an output other than HLS takes one rendition's video (a file may name it),
    // picked before its queue: the queue's keyframe-aware drops then see one video stream.
    const ladder = this.plan.encoding.renditions;
    const main = ladder[0]?.name;
    const want = (o.spec.kind === 'file' ? o.spec.rendition : undefined) ?? main;
    const pick = o.tee === 'encoded' && ladder.length > 1 ? (item: EncodedOutput): boolean => item.kind === 'audio' || (item.rendition ?? main) === want : undefined;
    // An HLS ladder takes a port per rendition, each its own queue.
    const ports = (node.ports as readonly OutputPort<unknown>[] | undefined)?.map((p) => ({ name: `${name}${p.suffix}`, consumer: p.writable, accepts: p.accepts }))
      ?? [{ name, consumer: node.writable as WritableStream<unknown>, ...(pick === undefined ? {} : { accepts: pick as (item: unknown) => boolean }) }];
    for (const p of ports) {
      (this._tees[o.tee] as Tee<unknown>).addPort({
        ...p, label: outputLabel(o.spec) + p.name.slice(name.length), bounds: o.bounds, measure: MEDIA_MEASURE as QueueMeasure<unknown>,
        policy: this.plan.policy.queuePolicy, onError: o.onError, late,
      });
    }
    this._outputs.push({ node, tee: o.tee, ports: ports.map((p) => p.name) });
  }

  private _limit(kind: LimitKind): void {
    if (this._limitHit) return;
    this._limitHit = true;
    this._init.onLimit(kind);
  }

  /**
   * Right after the source, per track: reports each item's end to the session extent, and passes items
   * before `maxUs`; the first at or past it ends this track's stream (each track is cut at the same
   * media time, whichever runs ahead) and marks the run LIMIT_REACHED.
   */
  private _trackTap(id: string, maxUs: Microseconds | undefined): TransformStream<SourceMedia, SourceMedia> {
    const extent = this._extent;
    extent.open(id);
    return new TransformStream<SourceMedia, SourceMedia>({
      transform: (item, controller) => {
        if (maxUs === undefined || item.timestamp < maxUs) {
          extent.advance(item.timestamp + (item.duration ?? 0));
          controller.enqueue(item);
          return;
        }
        item.close();
        this._limit('duration');
        extent.end(id);
        controller.terminate();
      },
      flush: () => extent.end(id),
    });
  }
}

/** The first frame slot at `fps` at or after `us`. */
function nextSlot(us: Microseconds, fps: number): Microseconds {
  let k = Math.max(0, Math.floor((us * fps) / 1e6) - 1);
  while (frameTimestamp(k, fps) < us) k++;
  return frameTimestamp(k, fps);
}

/**
 * The end a track of `kind` that ended early is extended to, as far as the session has really got:
 * the extent's reach (a declared end counts only near it), a step further each time the interleaver
 * waits for this track, cut at a duration limit.
 */
function sessionEndOf(config: PipelineConfig, extent: SessionExtent, kind: 'video' | 'audio', declaredUs: Microseconds | undefined): SessionEnd {
  extent.needed = true;
  const max = config.limits.maxDurationUs ?? Infinity;
  let slackUs = 0;
  // Waited for at the furthest it may go (the declared end): the track ends there, so its encoder
  // gives up what it holds.
  let ended = false;
  const until = (): { us: Microseconds; final: boolean } => ({
    us: Math.min(max, extent.holdUntil(declaredUs, slackUs, DECLARED_END_TOLERANCE_US)),
    final: ended || extent.settled,
  });
  return {
    until,
    changed: async () => {
      await extent.changedFor(kind);
      if (extent.settled || !extent.isWaitedFor(kind)) return;
      const before = until().us;
      slackUs += HOLD_STEP_US;
      if (until().us === before) ended = true;
      // Let what was just made reach the encoder before asking again.
      else await new Promise<void>((resolve) => setImmediate(resolve));
    },
  };
}

/** A track copied without re-encoding: source -> blocking queue -> muxer, decoder config on the first chunk. */
function copyBranch(plan: PipelinePlan, b: BranchPlan): Branch {
  const kind = b.kind;
  const track = b.tracks[0]!;
  // Dropping encoded packets would corrupt the stream: a copied track's queue always blocks.
  const queue = new QueueNode<SourceMedia>(`${kind}-queue`, kind === 'video' ? plan.queues.video : plan.queues.audio, 'block', undefined, MEDIA_MEASURE);
  const decoderConfig = track.encoded!.decoderConfig;
  return {
    tracks: [track], kind, mode: 'copy', reasons: b.reasons, queue, close: () => undefined,
    build: (open, signal) => {
      const source = open(track);
      let first = true;
      // A trimmed track's copy ends with the last packet before its span's end in decode order: the
      // packets past the end that it refers to (a B-frame's later reference) are kept, the rest not.
      const endUs = track.trim?.endUs ?? Infinity;
      const held: EncodedChunk[] = [];
      const wrap = new TransformStream<SourceMedia, EncodedOutput>({
        transform: (media, controller) => {
          const chunk = media as EncodedChunk;
          if (chunk.timestamp >= endUs) {
            held.push(chunk);
            return;
          }
          for (const c of [...held.splice(0), chunk]) {
            const metadata = first ? { decoderConfig } : {};
            first = false;
            controller.enqueue({ kind, chunk: c, metadata } as EncodedOutput);
          }
        },
      });
      return source.pipeThrough(queue, { signal }).pipeThrough(wrap, { signal });
    },
  };
}

/** A video encode split into chunks on worker threads, each with its own encoder of the branch's config. */
function splitBranch(plan: PipelinePlan, b: VideoBranchPlan, split: SplitPlan, runner: ChunkRunnerFactory | undefined): Branch {
  const pool = new ChunkPool(split, {
    source: split.source, codecs: split.codecs, encoder: videoEncoderConfig(plan), keyframeIntervalUs: plan.keyframeIntervalUs,
  }, runner);
  return {
    tracks: b.tracks, kind: 'video', mode: 'split', reasons: b.reasons, pool,
    close: () => void pool.close(),
    build: (signal) => pool.readable(signal),
  };
}

/** The video encoder's config, from the plan's encoding (at a rung's size and bitrate, for a ladder's other rungs). */
function videoEncoderConfig(plan: PipelinePlan, rung?: Rendition): VideoEncoderConfig {
  const enc = plan.encoding;
  const { width, height, videoBitrateKbps } = rung ?? enc;
  return {
    codec: videoCodecString(enc.videoCodec!, enc.h264Profile, width, height, enc.fps),
    width, height, framerate: enc.fps, bitrate: videoBitrateKbps * 1000,
    // Rounded up: a gap between grid keyframes may be a frame longer than the rounded interval, and x264
    // would put an IDR of its own one frame before the grid's.
    speedPreset: enc.speedPreset, keyframeInterval: Math.ceil((plan.keyframeIntervalUs / 1e6) * enc.fps - 1e-9),
  };
}

/** Opens a track's decoder; a decoder that refuses the track (a picture too large, a bad header) says whose it is. */
function openDecoder<T>(track: TrackInfo, open: () => T): T {
  const what = track.label ?? `${track.kind} track ${track.id}`;
  try {
    return open();
  } catch (err) {
    // A typed error keeps its code, and says which input and track it is about.
    if (err instanceof AvpipeError) throw new AvpipeError(err.code, `${what}: ${err.message}`, { cause: err, fatal: err.fatal });
    throw toAvpipeError('SOURCE_FAILED', what, err);
  }
}

/**
 * A trimmed video track's frames within its span: decoded from the keyframe before its start and a
 * little past its end, it keeps the frame showing at its start (the last one before it, unless one
 * is right on it) and what follows, up to its end.
 */
function videoSpan(trim: TrackTrim): TransformStream<VideoFrame, VideoFrame> {
  const startUs = trim.startUs ?? -Infinity;
  const endUs = trim.endUs ?? Infinity;
  let before: VideoFrame | undefined;
  return new TransformStream<VideoFrame, VideoFrame>({
    transform: (frame, c) => {
      if (frame.timestamp >= endUs) frame.close();
      else if (frame.timestamp < startUs) {
        before?.close();
        before = frame;
      } else {
        if (before !== undefined && frame.timestamp > startUs) c.enqueue(before);
        else before?.close();
        before = undefined;
        c.enqueue(frame);
      }
    },
    flush: (c) => {
      if (before !== undefined) c.enqueue(before);
    },
  });
}

/** A video track encoded by avpipe: [decode ->] [scale, constant rate ->] the raw tee (the encoder's queue, raw outputs). */
async function videoBranch(init: GraphInit, plan: PipelinePlan, b: VideoBranchPlan, extent: SessionExtent): Promise<Branch> {
  const { config } = init;
  const track = b.tracks[0];
  const provider = await init.provider();
  const enc = plan.encoding;
  const { decoderFields, scaler } = videoScaling(provider, track, enc);
  const decoderConfig = track.encoded === undefined ? undefined : { ...track.encoded.decoderConfig, ...decoderFields };
  const decoder = decoderConfig === undefined ? undefined : openDecoder(track, () => DecoderNode.video(provider, decoderConfig, DECODE_QUEUE));
  // Decoded input may be variable-rate or another rate: the output is always constant-rate.
  const needsRate = track.encoded !== undefined || track.fps !== enc.fps;
  const rate = needsRate ? new VideoRate(enc.fps) : undefined;
  const keyUs = plan.keyframeIntervalUs;
  const encoder = !b.encode ? undefined : EncoderNode.video(provider, videoEncoderConfig(plan), keyUs, plan.queues.encoder);
  // The ladder's other rungs: scaled from the first's frames, encoded on the same keyframe grid.
  const rungs: Rung[] = !b.encode ? [] : enc.renditions.slice(1).map((r) => ({
    name: r.name,
    scaler: videoScaling(provider, enc, r).scaler,
    encoder: EncoderNode.video(provider, videoEncoderConfig(plan, r), keyUs, plan.queues.encoder, undefined, `video-encoder-${r.name}`),
  }));
  // A video that ends before the session (a shorter input) holds its last frame to the end, as far
  // as the other tracks really go. A source with no end of its own (a publisher) ends each track at
  // its last frame.
  const declaredUs = Math.max(track.endUs ?? 0, init.source.durationUs ?? 0) || undefined;
  const end = declaredUs === undefined ? undefined : sessionEndOf(config, extent, 'video', declaredUs);
  return {
    tracks: b.tracks, kind: 'video', mode: 'transcode', reasons: b.reasons, bounds: plan.queues.video, decoders: decoder === undefined ? [] : [decoder], encoder, rungs,
    close: () => {
      decoder?.close();
      encoder?.close();
      scaler?.close();
      for (const r of rungs) {
        r.encoder.close();
        r.scaler?.close();
      }
    },
    build: (open, signal) => {
      const source = open(track);
      let raw = decoder === undefined ? (source as ReadableStream<VideoFrame>) : source.pipeThrough(decoder.stream as TransformStream<SourceMedia, VideoFrame>, { signal });
      if (track.trim !== undefined) raw = raw.pipeThrough(videoSpan(track.trim), { signal });
      if (scaler !== undefined || rate !== undefined) {
        raw = raw.pipeThrough(new TransformStream<VideoFrame, VideoFrame>({
          transform: (frame, c) => {
            const f = scaler === undefined ? frame : scaler.scale(frame);
            if (rate === undefined) c.enqueue(f);
            else for (const out of rate.push(f)) c.enqueue(out);
          },
          flush: async (c) => {
            if (rate === undefined) return;
            if (end === undefined) {
              for (const out of rate.finish()) c.enqueue(out);
              return;
            }
            for (let u = end.until(); !u.final; u = end.until()) {
              for (const out of rate.hold(u.us)) c.enqueue(out);
              await end.changed();
            }
            for (const out of rate.finish(end.until().us)) c.enqueue(out);
          },
        }), { signal });
      }
      return raw;
    },
  };
}

/** The stream adapter of an audio core that takes buffers and gives what is ready (none, one or more), and the rest at the end. */
function audioStage(core: { process(data: AudioData): AudioData | readonly AudioData[] | null; flush(): AudioData | null }): TransformStream<AudioData, AudioData> {
  return new TransformStream<AudioData, AudioData>({
    transform: (data, c) => {
      const out = core.process(data);
      for (const d of out === null ? [] : Array.isArray(out) ? out : [out]) c.enqueue(d);
    },
    flush: (c) => {
      const out = core.flush();
      if (out !== null) c.enqueue(out);
    },
  });
}

/**
 * The audio encoded by avpipe: per source track [decode ->] resample, then [mix ->] the raw tee (the encoder's queue, raw outputs).
 * Decoded (file) audio always goes through the mixer, which places it on the session timeline: a late
 * start, a hole or an early end is silence, several tracks are summed, routes pick a side.
 */
async function audioBranch(init: GraphInit, plan: PipelinePlan, b: AudioBranchPlan, extent: SessionExtent): Promise<Branch> {
  const { config } = init;
  const tracks = b.tracks;
  const provider = await init.provider();
  const enc = plan.encoding;
  // Decoded channel counts may change mid-stream, so decoded audio always passes the resampler
  // (which hands through what already fits).
  const needsResample = (t: Extract<TrackInfo, { kind: 'audio' }>): boolean => t.encoded !== undefined || t.sampleRate !== enc.sampleRate || t.channels !== enc.channels;
  const inputs = tracks.map((track, i) => {
    const encoded = track.encoded;
    const decoder = encoded === undefined ? undefined
      : openDecoder(track, () => DecoderNode.audio(provider, encoded.decoderConfig, DECODE_QUEUE, tracks.length > 1 ? `audio-decoder-${i}` : 'audio-decoder',
        plan.policy.decodedAudioBlockS > 0 ? Math.round(track.sampleRate * plan.policy.decodedAudioBlockS) : undefined));
    const resampler: AudioResampler | undefined = !needsResample(track) ? undefined
      : provider.createAudioResampler?.(enc.sampleRate, enc.channels) ?? new SincResampler(enc.sampleRate, enc.channels);
    return { track, decoder, resampler, drift: track.kind === 'audio' && track.clockDrift === true ? new DriftCorrector() : undefined };
  });
  const drift = new Map(inputs.flatMap((x) => (x.drift === undefined ? [] : [[x.track.id, x.drift] as const])));
  const useMixer = tracks.length > 1 || tracks.some((t) => t.encoded !== undefined || (t.route ?? 'both') !== 'both');
  const mixer = useMixer
    ? new MixerNode(new AudioMixer(enc.sampleRate, enc.channels, tracks.map((t) => t.route ?? 'both')), tracks.length, Math.round(enc.sampleRate * plan.policy.mixerWindowS), init.source.durationUs === undefined ? undefined : sessionEndOf(config, extent, 'audio', init.source.durationUs))
    : undefined;
  const encoder = !b.encode ? undefined : EncoderNode.audio(provider, {
    codec: audioCodecString(enc.audioCodec!), sampleRate: enc.sampleRate, numberOfChannels: enc.channels, bitrate: enc.audioBitrateKbps * 1000,
  }, plan.queues.encoder, b.batchEncode);
  const decoders = inputs.flatMap((x) => (x.decoder === undefined ? [] : [x.decoder]));
  return {
    tracks, kind: 'audio', mode: 'transcode', reasons: b.reasons, bounds: plan.queues.audio, decoders, encoder, rungs: [], drift,
    close: () => {
      for (const x of inputs) {
        x.decoder?.close();
        x.drift?.close();
        x.resampler?.close();
      }
      encoder?.close();
    },
    build: (open, signal) => {
      const raws = inputs.map(({ track, decoder, resampler, drift: corrector }) => {
        const source = open(track);
        let raw = decoder === undefined ? (source as ReadableStream<AudioData>) : source.pipeThrough(decoder.stream as TransformStream<SourceMedia, AudioData>, { signal });
        // A trimmed track is cut to its span to the sample (it is decoded from a little before, and past, it).
        const trim = track.trim;
        if (trim !== undefined) {
          const startUs = trim.startUs ?? -Infinity;
          const endUs = trim.endUs ?? Infinity;
          raw = raw.pipeThrough(new TransformStream<AudioData, AudioData>({
            transform: (data, c) => {
              const kept = audioWithin(data, startUs, endUs);
              if (kept !== null) c.enqueue(kept);
            },
          }), { signal });
        }
        // Its samples fitted to its timestamps (a publisher's sound card off its nominal rate), before
        // the resampler counts samples.
        if (corrector !== undefined) raw = raw.pipeThrough(audioStage(corrector), { signal });
        if (resampler !== undefined) raw = raw.pipeThrough(audioStage(resampler), { signal });
        return raw;
      });
      let mixed: ReadableStream<AudioData>;
      if (mixer === undefined) mixed = raws[0]!;
      else {
        // Each input pipe's failure aborts its mixer input, which errors the mix: the branch fails once.
        raws.forEach((raw, i) => void raw.pipeTo(mixer.inputs[i]!, { signal }).catch(() => undefined));
        mixed = mixer.readable;
      }
      return mixed;
    },
  };
}
