import { open, stat } from 'node:fs/promises';
import { ALL_FORMATS, EncodedPacketSink, Input, type InputAudioTrack, type InputVideoTrack } from '../muxers/mediabunny.js';
import { EncodedChunk } from '../media/encoded-chunk.js';
import { opusHeadProblem } from '../codecs/opus-head.js';
import type { PipelineConfig } from '../config/pipeline-config.js';
import type { TrackInfo } from './track-info.js';
import type { FileInput } from '../config/config-init.js';
import { AvpipeError } from '../errors.js';
import type { Microseconds } from '../time.js';
import { isAnnexB, parseSps, readAnnexBIndex, type SpsInfo } from './annexb-reader.js';
import { isIvf, isVpxKeyframe, readIvfIndex } from './ivf-reader.js';
import { guardedFileSource } from './guarded-file-source.js';
import { SourceBase } from './source-base.js';
import type { ResultWarning, Source, SourceMedia } from './source.js';
import type { DemuxedPacket, DemuxedTrack, InputDemuxer } from './input-demuxer.js';
import { probeWithLibav } from './libav-demuxer.js';

/** One input file of a file source (declared with the config, which names it too). */
export type { FileInput };

/** A bad input: names the file and what is wrong with it. */
export class InputError extends AvpipeError {
  /** The input's path. */
  readonly input: string;

  /** Set when mediabunny does not read the container or a codec in it: FFmpeg's demuxer is tried then. */
  readonly unsupported: boolean;

  constructor(input: string, problem: string, cause?: unknown, unsupported = false) {
    super('INPUT_INVALID', `input ${input}: ${problem}`, cause === undefined ? {} : { cause });
    this.name = 'InputError';
    this.input = input;
    this.unsupported = unsupported;
  }
}

interface OpenInput {
  spec: FileInput;
  demuxer: InputDemuxer;
  /** Added to every timestamp of this input: its offset, minus where its span (its media) starts. */
  shiftUs: Microseconds;
  /** Where its span starts in its own time (seconds), when it is trimmed at the start. */
  fromS: number | undefined;
  /** Where its span ends on the session timeline, when it is trimmed at the end. */
  spanEndUs: Microseconds | undefined;
  /** Where its media ends on the session timeline, once asked ({@link mediaEndUs}): read once. */
  mediaEnd?: Promise<Microseconds>;
  /** Where the container says the input ends, on the session timeline (before any jump is closed up). */
  declaredEndUs: Microseconds;
  /** Where its packets really ended so far (same timeline), and how many of its tracks are still read. */
  realEndUs: Microseconds;
  tracksReading: number;
  /** Packets read from it, over all its tracks. */
  packets: number;
  /** Timestamp jumps closed up: from the end before to the time after, and by how much every later time moved. */
  cuts: { fromUs: Microseconds; toUs: Microseconds; byUs: Microseconds; atUs: Microseconds }[];
  /** It starts with an ftyp box (MP4, MOV, 3GP...). */
  isobmff: boolean;
}

/** How many packets back a repeated timestamp is looked for: deeper than any B-frame reordering. */
const REPEAT_WINDOW = 16;

/** A declared end this far past the last packet is a truncation (or a lie), not a rounding. */
const TRUNCATION_TOLERANCE_US = 1_000_000;

/**
 * Audio of a span trimmed at its start is decoded from this long before it: a decoder's first
 * frames after a seek lack what overlaps them (AAC's, Opus's pre-roll), and they fall before the span.
 */
const AUDIO_PREROLL_S = 0.1;

interface FileTrack {
  info: TrackInfo;
  track: DemuxedTrack;
  from: OpenInput;
}

/**
 * A source that reads recorded media (replay, export) through mediabunny's demuxers: MP4/MOV,
 * WebM/MKV, Ogg, MPEG-TS, MP3, WAV, ADTS, FLAC, plus IVF (VP8/VP9) and raw H.264 Annex B, the
 * per-track recordings of WebRTC media, with its own readers. It gives encoded chunks in decode order; the graph
 * decodes them or copies them. Non-live it reads as fast as the pipeline pulls; live it replays at 1x.
 * Several inputs form one session (one video track, audio from any of them), each with an offset.
 */
export class FileSource extends SourceBase implements Source {
  readonly name: string;
  private readonly _inputs: readonly FileInput[];
  private _open: OpenInput[] = [];
  private _tracks: FileTrack[] = [];
  private _durationUs: number | undefined;
  private _maxGapUs: Microseconds = 10_000_000;
  private readonly _warnings: ResultWarning[] = [];

  constructor(inputs: readonly FileInput[]) {
    super();
    if (inputs.length === 0) throw new TypeError('inputs must name at least one file');
    this._inputs = inputs;
    this.name = inputs.map((i) => i.path).join(', ');
  }


  /** The session's media duration: the latest end over all inputs, offsets included. */
  get durationUs(): number | undefined {
    return this._durationUs;
  }

  /** Opens and checks every input, then declares one video track (the first found) and the audio tracks. */
  async prepare(config: PipelineConfig): Promise<readonly TrackInfo[]> {
    this.live = config.live;
    this._maxGapUs = config.limits.maxGapUs;
    this._open = [];
    for (const spec of this._inputs) this._open.push(await openInput(spec));
    await this._dropOutsideSpans();
    const tracks: FileTrack[] = [];
    let audioIndex = 0;
    for (const [i, o] of this._open.entries()) {
      const all = await o.demuxer.tracks().catch((err: unknown) => {
        if (err instanceof InputError) throw err;
        throw new InputError(o.spec.path, `cannot read its tracks: ${(err as Error).message}`, err);
      });
      for (const t of all) {
        if (t.info.kind === 'video' && t.info.width * t.info.height > config.limits.maxPixels) {
          throw new InputError(o.spec.path, `its ${t.info.width}x${t.info.height} video is larger than limits.maxPixels (${config.limits.maxPixels} pixels)`);
        }
        const label = `input ${o.spec.path}, ${t.info.kind} track ${t.number}`;
        const trimmed = o.fromS !== undefined || o.spanEndUs !== undefined;
        const mp4 = o.isobmff && (o.spec.offset ?? 0) === 0 && !trimmed ? { mp4: { path: o.spec.path, trackId: t.number } } : {};
        const trim = !trimmed ? {} : {
          trim: { ...(o.fromS === undefined ? {} : { startUs: Math.round((o.spec.offset ?? 0) * 1e6) }), ...(o.spanEndUs === undefined ? {} : { endUs: o.spanEndUs }) },
        };
        if (t.info.kind === 'video' && !tracks.some((x) => x.info.kind === 'video')) {
          // One input, read again by each worker of a split encode (checked before a split is used: splitProblem).
          const split = this._open.length === 1 && t.timing !== undefined && t.info.encoded !== undefined
            ? { splittable: { type: 'file' as const, path: o.spec.path, trackId: t.number, shiftUs: o.shiftUs, decoderConfig: t.info.encoded.decoderConfig } } : {};
          const info = { ...t.info, id: `${i}:video`, label, ...mp4, ...split, ...trim };
          // The container's duration says how long the last frame lasts; packet durations often do not.
          if (t.declaredEnd !== null) info.endUs = Math.min(Math.round(t.declaredEnd * 1e6) + o.shiftUs, o.spanEndUs ?? Infinity);
          tracks.push({ info, track: t, from: o });
        }
        if (t.info.kind === 'audio') {
          const info = { ...t.info, id: `${i}:audio${audioIndex++}`, label, ...mp4, ...trim };
          if (o.spec.route !== undefined) info.route = o.spec.route;
          if ((o.spec.offset ?? 0) > 0) info.startUs = Math.round(o.spec.offset! * 1e6);
          tracks.push({ info, track: t, from: o });
        }
      }
    }
    if (tracks.length === 0) throw new InputError(this.name, 'no audio or video track');
    // The container's stated duration where it has one; packet timestamps (and guessed last durations) otherwise.
    const ends = await Promise.all(this._open.map(async (o) => Math.min(await mediaEndUs(o), o.spanEndUs ?? Infinity)));
    this._durationUs = Math.max(...ends);
    this._open.forEach((o, i) => (o.declaredEndUs = ends[i]!));
    this._tracks = tracks;
    return tracks.map((t) => t.info);
  }

  readable(trackId: string): ReadableStream<SourceMedia> {
    const t = this._tracks.find((x) => x.info.id === trackId);
    if (t === undefined) throw new TypeError(`file source has no track "${trackId}"`);
    const path = t.from.spec.path;
    const shift = t.from.shiftUs;
    const input = t.from;
    /** The latest packet end read, before jumps are closed up; what this track's times moved by. */
    let rawEnd: Microseconds | undefined;
    let cutUs = 0;
    /**
     * A video track's last packet times: two frames at one time cannot both be shown (zero durations,
     * all at 0). Not audio: the frames of a Matroska lace without durations share their block's time.
     */
    const recent: Microseconds[] | undefined = t.info.kind === 'video' ? [] : undefined;
    input.tracksReading++;
    /** Audio starts anywhere; video at its first keyframe. */
    let keyed = t.info.kind !== 'video';
    // A span that starts later: video from the keyframe at or before it, audio a little before it.
    const from = input.fromS === undefined ? undefined
      : t.info.kind === 'video' ? { seconds: input.fromS, key: true } : { seconds: input.fromS - AUDIO_PREROLL_S, key: false };
    /** Video packets read since the first at or past the span's end. */
    let pastEnd = 0;
    let iterator: AsyncGenerator<DemuxedPacket, void, unknown> | undefined;
    const ended = this.openTrack();
    const end = (): void => {
      void iterator?.return();
      ended();
    };
    /** The next packet (done at the end, or once stopping), or undefined when the read failed: the stream is errored then. */
    const read = async (controller: ReadableStreamDefaultController<SourceMedia>): Promise<IteratorResult<DemuxedPacket, void> | undefined> => {
      try {
        iterator ??= t.track.packets(from);
        return this.stopping ? { done: true, value: undefined } : await iterator.next();
      } catch (err) {
        end();
        controller.error(new InputError(path, `reading ${t.info.kind} failed: ${(err as Error).message}`, err));
        return undefined;
      }
    };
    return new ReadableStream<SourceMedia>({
      pull: async (controller) => {
        await this.due(undefined);
        let next = await read(controller);
        if (next === undefined) return;
        if (next.done) {
          if (!this.stopping) this._trackEnded(input, rawEnd);
          if (!this.stopping && input.tracksReading === 0 && input.packets === 0) {
            end();
            controller.error(new InputError(path, 'it holds no media: its data ends before its first packet (truncated?)'));
            return;
          }
          controller.close();
          end();
          return;
        }
        let p = next.value;
        // A video that starts mid-GOP (a capture cut anywhere) starts at its first keyframe: the
        // packets before it cannot be decoded, nor copied (no parameter sets before them).
        if (!keyed) {
          const skipped = { packets: 0, fromUs: Math.round(p.timestamp * 1e6) + shift };
          while (p.type !== 'key') {
            skipped.packets++;
            next = await read(controller);
            if (next === undefined) return;
            if (next.done) {
              end();
              if (this.stopping) controller.close();
              else controller.error(new InputError(path, `its ${t.info.kind} track ${t.track.number} has no keyframe in its ${skipped.packets} packets: nothing of it can be decoded`));
              return;
            }
            p = next.value;
          }
          keyed = true;
          if (skipped.packets > 0) {
            const toUs = Math.round(p.timestamp * 1e6) + shift;
            this._warnings.push({
              code: 'LEADING_PACKETS_DROPPED', input: path, atMs: skipped.fromUs / 1000,
              message: `input ${path}: its ${t.info.kind} track ${t.track.number} starts mid-GOP: its first ${skipped.packets} packets (${seconds(skipped.fromUs - shift)} s to ${seconds(toUs - shift)} s), before its first keyframe, were dropped`,
            });
          }
        }
        input.packets++;
        const raw = Math.round(p.timestamp * 1e6) + shift;
        const duration = Math.round(p.duration * 1e6);
        if (recent?.includes(raw) === true) {
          end();
          controller.error(new InputError(path, `its ${t.info.kind} track ${t.track.number} has two packets at ${seconds(raw - shift)} s: its timestamps repeat (zero frame durations?)`));
          return;
        }
        recent?.push(raw);
        if (recent !== undefined && recent.length > REPEAT_WINDOW) recent.shift();
        if (rawEnd !== undefined && Math.abs(raw - rawEnd) > this._maxGapUs) {
          cutUs += this._closeUp(input, rawEnd, raw, rawEnd - cutUs);
          rawEnd = raw + duration;
        } else rawEnd = Math.max(rawEnd ?? -Infinity, raw + duration);
        const timestamp = raw - cutUs;
        const spanEnd = input.spanEndUs;
        // Past the span's end audio stops; video is read on for as many packets as B-frames can be
        // reordered (REPEAT_WINDOW), so every frame before the end and what it refers to is read.
        if (spanEnd !== undefined && (pastEnd > 0 || timestamp >= spanEnd) && (t.info.kind === 'audio' || ++pastEnd > REPEAT_WINDOW)) {
          this._trackEnded(input, Math.max(rawEnd, spanEnd + cutUs));
          controller.close();
          end();
          return;
        }
        await this.due(timestamp);
        controller.enqueue(new EncodedChunk({ type: p.type, timestamp, duration, data: p.data }));
      },
      cancel: () => end(),
    }, { highWaterMark: 0 });
  }

  /**
   * Why the encode of `trackId` cannot be split into chunks decoded from the file by workers, or
   * null when it can. Each worker places a chunk's frames by the track's own times plus the input's
   * shift, so the track must need nothing that reading it whole would do to its times: no jump to
   * close up, no repeated time (which fails the run), a first packet that is a keyframe, and media
   * up to the track's own stated end. Reads the track's timing, not its data (an MP4's sample tables).
   */
  async splitProblem(trackId: string): Promise<string | null> {
    const t = this._tracks.find((x) => x.info.id === trackId);
    const timing = t?.track.timing;
    if (t === undefined || timing === undefined) return `track ${trackId} cannot be read by a worker`;
    const shift = t.from.shiftUs;
    const recent: Microseconds[] = [];
    let end: Microseconds | undefined;
    let first = true;
    try {
      for await (const p of timing.call(t.track)) {
        if (first && p.type !== 'key') return `${t.info.label}: its first packet is not a keyframe`;
        first = false;
        const raw = Math.round(p.timestamp * 1e6) + shift;
        if (recent.includes(raw)) return `${t.info.label}: two packets at ${seconds(raw - shift)} s`;
        recent.push(raw);
        if (recent.length > REPEAT_WINDOW) recent.shift();
        if (end !== undefined && Math.abs(raw - end) > this._maxGapUs) return `${t.info.label}: its timestamps jump from ${seconds(end - shift)} s to ${seconds(raw - shift)} s (closed up when read whole)`;
        end = Math.max(end ?? -Infinity, raw + Math.round(p.duration * 1e6));
      }
    } catch (err) {
      return `${t.info.label}: its packets cannot be read (${(err as Error).message})`;
    }
    if (end === undefined) return `${t.info.label}: it holds no packets`;
    // A video that ends before the other tracks is held to the session's end by the chunks, as by the
    // graph; one whose data ends before its own stated end is truncated, and the graph then holds it
    // only as far as the session really got.
    const stated = t.info.kind === 'video' ? t.info.endUs : undefined;
    if (stated !== undefined && stated - end > TRUNCATION_TOLERANCE_US) return `${t.info.label}: its media ends at ${seconds(end)} s, before its stated ${seconds(stated)} s (truncated?)`;
    return null;
  }

  /**
   * Inputs whose span starts at or after their media's end give nothing: left out, with a warning,
   * while another input gives media (a session trimmed past a shorter input); the run fails otherwise.
   */
  private async _dropOutsideSpans(): Promise<void> {
    const kept: OpenInput[] = [];
    const outside: { o: OpenInput; endUs: Microseconds }[] = [];
    for (const o of this._open) {
      // Only an input trimmed at its start can begin past its end.
      const endUs = o.fromS === undefined ? undefined : await mediaEndUs(o);
      if (endUs !== undefined && endUs <= Math.round((o.spec.offset ?? 0) * 1e6)) outside.push({ o, endUs });
      else kept.push(o);
    }
    for (const { o, endUs } of outside) {
      o.demuxer.dispose();
      const problem = `its span starts at ${o.spec.start} s, at or after its media ends (${seconds(endUs - o.shiftUs - Math.round(Math.max(0, o.demuxer.firstTimestamp) * 1e6))} s)`;
      if (kept.length === 0) {
        for (const x of outside) if (x.o !== o) x.o.demuxer.dispose();
        throw new InputError(o.spec.path, `${problem}: nothing is left to export`);
      }
      this._warnings.push({ code: 'INPUT_OUTSIDE_SPAN', input: o.spec.path, atMs: 0, message: `input ${o.spec.path}: ${problem}; left out` });
    }
    this._open = kept;
  }

  /** A truncated input and closed-up timestamp jumps, as the run's warnings. */
  warnings(): readonly ResultWarning[] {
    return [...this._warnings, ...this._jumpWarnings()];
  }

  /** One warning per input whose timestamps jumped. */
  private _jumpWarnings(): ResultWarning[] {
    const jumps: ResultWarning[] = [];
    for (const o of this._open) {
      const first = o.cuts[0];
      if (first === undefined) continue;
      const n = o.cuts.length;
      jumps.push({
        code: 'TIMESTAMP_JUMP', input: o.spec.path, atMs: first.atUs / 1000,
        message: `input ${o.spec.path}: timestamps jumped ${n === 1 ? 'once' : `${n} times`} by more than limits.maxGap (${this._maxGapUs / 1e6} s), first at ${seconds(first.atUs)} s by ${first.byUs > 0 ? '+' : ''}${seconds(first.byUs)} s; closed up, not filled`,
      });
    }
    return jumps;
  }

  /**
   * A jump from `fromUs` (the track's end so far) to `toUs`, both before closing up: the time it moves
   * every later packet back by. A jump of another track of the same input at the same place moves by
   * the same amount, so the input's tracks stay in sync.
   */
  private _closeUp(input: OpenInput, fromUs: Microseconds, toUs: Microseconds, atUs: Microseconds): Microseconds {
    const gap = this._maxGapUs;
    // Never by more than this track's own jump: its times keep rising (a muxer copying it needs that).
    const byUs = toUs - fromUs;
    const same = input.cuts.find((c) => Math.abs(c.fromUs - fromUs) <= gap && Math.abs(c.toUs - toUs) <= gap);
    if (same !== undefined) return Math.min(byUs, same.byUs);
    // Back across a jump already closed up (a B-frame before the jump, read after it): undone, not counted.
    const back = input.cuts.find((c) => Math.abs(c.toUs - fromUs) <= gap && Math.abs(c.fromUs - toUs) <= gap);
    if (back !== undefined) return Math.min(byUs, -back.byUs);
    input.cuts.push({ fromUs, toUs, byUs, atUs });
    return byUs;
  }

  /** One track of `input` read to its end at `rawEndUs`; the last one tells whether the input was cut short. */
  private _trackEnded(input: OpenInput, rawEndUs: Microseconds | undefined): void {
    input.realEndUs = Math.max(input.realEndUs, rawEndUs ?? 0);
    if (--input.tracksReading > 0 || input.packets === 0) return;
    if (input.declaredEndUs - input.realEndUs <= TRUNCATION_TOLERANCE_US) return;
    const cut = input.cuts.filter((c) => c.fromUs < input.realEndUs).reduce((n, c) => n + c.byUs, 0);
    this._warnings.push({
      code: 'INPUT_TRUNCATED', input: input.spec.path, atMs: (input.realEndUs - cut) / 1000,
      message: `input ${input.spec.path}: its data ends at ${seconds(input.realEndUs)} s but it declares ${seconds(input.declaredEndUs)} s (truncated, or a header that lies); what is there was used`,
    });
  }

  async close(): Promise<void> {
    this.stop();
    // The inputs go; what they reported stays for the result.
    this._warnings.push(...this._jumpWarnings());
    for (const o of this._open) o.demuxer.dispose();
    this._open = [];
  }
}

async function openInput(spec: FileInput): Promise<OpenInput> {
  const path = spec.path;
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new InputError(path, err.code === 'ENOENT' ? 'no such file' : `cannot open it (${err.code ?? err.message})`, err);
  });
  if (!info.isFile()) throw new InputError(path, 'not a regular file');
  if (info.size === 0) throw new InputError(path, 'the file is empty');
  const magic = new Uint8Array(8);
  const fh = await open(path, 'r');
  await fh.read(magic, 0, 8, 0).finally(() => fh.close());
  const demuxer = isIvf(magic) ? await openIvf(path, info.size)
    : isAnnexB(magic) ? await openAnnexB(path, info.size, spec.fps ?? 30)
      : await openDemuxed(path, magic[0] === 0x47 || magic[4] === 0x47);
  const offsetUs = Math.round((spec.offset ?? 0) * 1e6);
  const isobmff = magic[4] === 0x66 && magic[5] === 0x74 && magic[6] === 0x79 && magic[7] === 0x70;
  const first = Math.max(0, demuxer.firstTimestamp);
  const startUs = Math.round((spec.start ?? 0) * 1e6);
  return {
    spec, demuxer, shiftUs: offsetUs - startUs - Math.round(first * 1e6),
    fromS: startUs > 0 ? first + startUs / 1e6 : undefined,
    spanEndUs: spec.end === undefined ? undefined : offsetUs + Math.round(spec.end * 1e6) - startUs,
    declaredEndUs: 0, realEndUs: 0, tracksReading: 0, packets: 0, cuts: [], isobmff,
  };
}

/** Where an input's media ends on the session timeline (its span's end aside); its duration is read once. */
function mediaEndUs(o: OpenInput): Promise<Microseconds> {
  o.mediaEnd ??= o.demuxer.duration().then((d) => Math.round(d * 1e6) + o.shiftUs);
  return o.mediaEnd;
}

/**
 * Through mediabunny; through FFmpeg's demuxer (node-av's libavformat) what mediabunny does not read:
 * a container it does not know (AVI, MPEG-PS), a codec it does not name (MPEG-2 or MPEG-4 Part 2
 * video), or, in MPEG-TS (`ts`), a stream it leaves out (MPEG-2 video: a TS capture must not lose
 * its video silently). What neither reads keeps mediabunny's error, which names the file and track.
 */
async function openDemuxed(path: string, ts: boolean): Promise<InputDemuxer> {
  let demuxer: InputDemuxer | undefined;
  try {
    demuxer = await openWithMediabunny(path);
    let tracks: DemuxedTrack[];
    try {
      tracks = await demuxer.tracks();
    } catch (err) {
      // What mediabunny's track reading throws of its own (a multi-program transport stream) names the file, and FFmpeg is tried.
      throw err instanceof InputError ? err : new InputError(path, `cannot read its tracks: ${(err as Error).message}`, err, true);
    }
    if (!ts) return demuxer;
    // A transport stream whose video mediabunny leaves out (MPEG-2): FFmpeg's reading is taken then,
    // not for audio it leaves out (the video stays copyable).
    const probe = await probeWithLibav(path);
    if (probe === undefined || probe.video <= tracks.filter((t) => t.info.kind === 'video').length) return demuxer;
    demuxer.dispose();
    return probe.demuxer;
  } catch (err) {
    demuxer?.dispose();
    if (!(err instanceof InputError && err.unsupported)) throw err;
    const probe = await probeWithLibav(path);
    if (probe === undefined || probe.video + probe.audio === 0) throw err;
    return probe.demuxer;
  }
}

/** MP4/MOV, WebM/MKV, Ogg, MPEG-TS, MP3, WAV, ADTS, FLAC through mediabunny. */
async function openWithMediabunny(path: string): Promise<InputDemuxer> {
  const input = new Input({ source: await guardedFileSource(path), formats: ALL_FORMATS });
  let tracks: Promise<DemuxedTrack[]> | undefined;
  const readTracks = async (): Promise<DemuxedTrack[]> => {
    const out: DemuxedTrack[] = [];
    for (const t of await input.getTracks()) {
      const info = t.isVideoTrack() ? await videoInfo(path, t) : t.isAudioTrack() ? await audioInfo(path, t) : undefined;
      if (info === undefined) continue;
      const declaredEnd = t.isVideoTrack() ? await input.getDurationFromMetadata([t]).catch(() => null) : null;
      out.push({
        info, number: t.id, declaredEnd,
        packets: async function* (from) {
          const sink = new EncodedPacketSink(t);
          const at = from === undefined ? null : from.key ? await sink.getKeyPacket(from.seconds) : await sink.getPacket(from.seconds);
          yield* sink.packets(at ?? undefined);
        },
        timing: () => new EncodedPacketSink(t).packets(undefined, undefined, { metadataOnly: true }),
      });
    }
    return out;
  };
  try {
    if (!(await input.canRead())) throw new InputError(path, 'unknown or unsupported container (not MP4/MOV, WebM/MKV, Ogg, MPEG-TS, MP3, WAV, ADTS, FLAC or IVF, nor one FFmpeg reads)', undefined, true);
    const firstTimestamp = await input.getFirstTimestamp();
    return {
      firstTimestamp,
      duration: async () => (await input.getDurationFromMetadata().catch(() => null)) ?? (await input.computeDuration()),
      // Read once: the file source and the FFmpeg fallback's check both ask.
      tracks: () => (tracks ??= readTracks()),
      dispose: () => input.dispose(),
    };
  } catch (err) {
    input.dispose();
    if (err instanceof InputError) throw err;
    throw new InputError(path, `corrupt or truncated: ${(err as Error).message}`, err);
  }
}

/** IVF (VP8/VP9 per-track recordings): read by avpipe itself, mediabunny has no IVF demuxer. */
async function openIvf(path: string, size: number): Promise<InputDemuxer> {
  const fh = await open(path, 'r');
  let index: Awaited<ReturnType<typeof readIvfIndex>>;
  try {
    index = await readIvfIndex(fh, size);
  } catch (err) {
    await fh.close();
    throw new InputError(path, `corrupt IVF: ${(err as Error).message}`, err);
  }
  const { header, frames } = index;
  const codec = header.fourcc === 'VP80' ? 'vp8' : header.fourcc === 'VP90' ? 'vp9' : undefined;
  if (codec === undefined) {
    await fh.close();
    throw new InputError(path, `IVF with ${header.fourcc} video, a codec avpipe cannot decode from IVF (VP80, VP90)`);
  }
  if (frames.length === 0) {
    await fh.close();
    throw new InputError(path, 'IVF without a single complete frame (truncated)');
  }
  // Times must rise frame by frame: an IVF whose pts are all 0 (or go back) has no timing to go by.
  const stuck = frames.findIndex((f, i) => i > 0 && f.pts <= frames[i - 1]!.pts);
  if (stuck > 0) {
    await fh.close();
    throw new InputError(path, `corrupt IVF: frame ${stuck} has pts ${frames[stuck]!.pts}, not after frame ${stuck - 1}'s ${frames[stuck - 1]!.pts} (timestamps must rise)`);
  }
  const tick = header.timebaseNum / header.timebaseDen;
  const first = frames[0]!.pts * tick;
  const last = frames.at(-1)!.pts * tick;
  const fps = frames.length > 1 ? Math.round((frames.length - 1) / (last - first)) : 30;
  const frameS = 1 / fps;
  return {
    firstTimestamp: first,
    duration: async () => last - first + frameS,
    tracks: async () => [{
      info: {
        id: '', kind: 'video', width: header.width, height: header.height, fps,
        encoded: { codec, decoderConfig: { codec: codec === 'vp8' ? 'vp8' : 'vp09.00.10.08', codedWidth: header.width, codedHeight: header.height } },
      },
      declaredEnd: null,
      number: 1,
      packets: async function* (from) {
        // From the last keyframe at or before `from` (found by reading each frame's first bytes).
        let begin = 0;
        const head = new Uint8Array(16);
        for (let i = 0; from !== undefined && i < frames.length && frames[i]!.pts * tick <= from.seconds; i++) {
          const f = frames[i]!;
          await fh.read(head, 0, Math.min(16, f.size), f.offset);
          if (!from.key || isVpxKeyframe(header.fourcc, head.subarray(0, Math.min(16, f.size)))) begin = i;
        }
        for (const [i, f] of frames.entries()) {
          if (i < begin) continue;
          const data = new Uint8Array(f.size);
          await fh.read(data, 0, f.size, f.offset);
          const next = frames[i + 1];
          yield {
            type: isVpxKeyframe(header.fourcc, data) ? 'key' : 'delta', timestamp: f.pts * tick,
            duration: next === undefined ? frameS : (next.pts - f.pts) * tick, data,
          };
        }
      },
    }],
    dispose: () => void fh.close().catch(() => undefined),
  };
}

/**
 * Raw H.264 (Annex B), as WebRTC H.264 tracks are recorded: no container, no timestamps. Frames are
 * timed at `fps` in decode order (such recordings have no B-frames).
 */
async function openAnnexB(path: string, size: number, fps: number): Promise<InputDemuxer> {
  const fh = await open(path, 'r');
  let index: Awaited<ReturnType<typeof readAnnexBIndex>>;
  let sps: SpsInfo;
  try {
    index = await readAnnexBIndex(fh, size);
    if (index.sps === undefined) throw new Error('no SPS');
    sps = parseSps(index.sps);
  } catch (err) {
    await fh.close();
    throw new InputError(path, `corrupt H.264 Annex B stream: ${(err as Error).message}`, err);
  }
  const units = index.units;
  if (units.length === 0) {
    await fh.close();
    throw new InputError(path, 'H.264 stream without a single complete access unit');
  }
  const hex = (n: number): string => n.toString(16).padStart(2, '0');
  const codec = `avc1.${hex(sps.profileIdc)}${hex(sps.constraints)}${hex(sps.levelIdc)}`;
  return {
    firstTimestamp: 0,
    duration: async () => units.length / fps,
    tracks: async () => [{
      info: { id: '', kind: 'video', width: sps.width, height: sps.height, fps, encoded: { codec: 'avc', decoderConfig: { codec, codedWidth: sps.width, codedHeight: sps.height } } },
      declaredEnd: units.length / fps,
      number: 1,
      packets: async function* (from) {
        let begin = 0;
        for (let i = 0; from !== undefined && i < units.length && i / fps <= from.seconds; i++) if (!from.key || units.at(i).key) begin = i;
        for (let i = begin; i < units.length; i++) {
          const u = units.at(i);
          const data = new Uint8Array(u.size);
          await fh.read(data, 0, u.size, u.offset);
          yield { type: u.key ? 'key' : 'delta', timestamp: i / fps, duration: 1 / fps, data };
        }
      },
    }],
    dispose: () => void fh.close().catch(() => undefined),
  };
}

async function videoInfo(path: string, t: InputVideoTrack): Promise<TrackInfo> {
  const config = await t.getDecoderConfig();
  if (config === null || t.codec === null) throw new InputError(path, `video track ${t.id} has a codec avpipe cannot decode (${String(await t.getCodecParameterString())})`, undefined, true);
  const stats = await t.computePacketStats(120);
  // A rate that is no video rate (a timestamp jump among the first packets, zero durations) is not trusted.
  const rate = Math.round(stats.averagePacketRate);
  const fps = rate >= 1 && rate <= 240 ? rate : 30;
  return {
    id: '', kind: 'video', width: t.codedWidth, height: t.codedHeight, fps,
    encoded: { codec: t.codec, decoderConfig: { codec: config.codec, codedWidth: config.codedWidth ?? t.codedWidth, codedHeight: config.codedHeight ?? t.codedHeight, ...descriptionOf(config.description) } },
  };
}

async function audioInfo(path: string, t: InputAudioTrack): Promise<TrackInfo> {
  const config = await t.getDecoderConfig();
  if (config === null || t.codec === null) throw new InputError(path, `audio track ${t.id} has a codec avpipe cannot decode (${String(await t.getCodecParameterString())})`, undefined, true);
  const head = t.codec === 'opus' ? descriptionOf(config.description).description : undefined;
  const damaged = head === undefined ? undefined : opusHeadProblem(head);
  if (damaged !== undefined) throw new InputError(path, `audio track ${t.id}: its Opus header is damaged (${damaged})`);
  return {
    id: '', kind: 'audio', sampleRate: t.sampleRate, channels: t.numberOfChannels,
    encoded: { codec: t.codec, decoderConfig: { codec: config.codec, sampleRate: config.sampleRate, numberOfChannels: config.numberOfChannels, ...descriptionOf(config.description) } },
  };
}

function descriptionOf(d: ArrayBuffer | ArrayBufferView | undefined): { description?: Uint8Array } {
  if (d === undefined) return {};
  const bytes = d instanceof Uint8Array ? d : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : new Uint8Array(d);
  return { description: bytes };
}

/** Microseconds as seconds with two decimals, for messages. */
function seconds(us: Microseconds): string {
  return (us / 1e6).toFixed(2);
}
