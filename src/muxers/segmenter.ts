import type { EncodedOutput } from '../media/encoded-chunk.js';
import type { Microseconds } from '../time.js';

/** One finished segment: its media, in arrival (decode) order per track, and its span in media time. */
export interface Segment {
  /** 0-based. */
  index: number;
  startUs: Microseconds;
  endUs: Microseconds;
  items: EncodedOutput[];
}

/** A video keyframe a little before the boundary (rounding of frame times) still starts the next segment. */
const TOLERANCE_US = 1000;

/**
 * The pure core of HLS segmenting. Segments start on a video keyframe (or any audio packet in an
 * audio-only stream) at or after the next boundary of a grid of `targetUs` from media time 0, so with
 * keyframes on the grid every segment is exactly `targetUs` long. A segment is closed once the audio
 * has reached its end too (the tracks may arrive a little apart), or the video has run a whole target
 * past it (the audio stalled or ended).
 * @internal
 */
export class Segmenter {
  readonly targetUs: Microseconds;
  private readonly _hasVideo: boolean;
  private readonly _hasAudio: boolean;
  private _video: EncodedOutput[] = [];
  private _audio: EncodedOutput[] = [];
  /** Where the current segment starts; undefined before the first item. */
  private _startUs: Microseconds | undefined;
  /** Decided cuts not yet closed: the keyframe's index in `_video` and its time. */
  private _cuts: { index: number; t: Microseconds }[] = [];
  private _audioUs = -Infinity;
  private _videoUs = -Infinity;
  private _endUs = -Infinity;
  private _count = 0;

  constructor(targetUs: Microseconds, tracks: { video: boolean; audio: boolean }) {
    this.targetUs = targetUs;
    this._hasVideo = tracks.video;
    this._hasAudio = tracks.audio;
  }

  /** Takes the next item; returns the segments it closed. */
  push(item: EncodedOutput): Segment[] {
    const t = item.chunk.timestamp;
    this._endUs = Math.max(this._endUs, t + (item.chunk.duration ?? 0));
    this._startUs ??= t;
    if (item.kind === 'video') {
      const last = this._cuts.at(-1);
      const from = last?.t ?? this._startUs;
      if (item.chunk.type === 'key' && (this._video.length > 0 || last !== undefined) && t >= this._nextBoundary(from) - TOLERANCE_US) {
        this._cuts.push({ index: this._video.length, t });
      }
      this._video.push(item);
      this._videoUs = Math.max(this._videoUs, t);
    } else {
      if (!this._hasVideo && this._audio.length > 0 && t >= this._nextBoundary(this._cuts.at(-1)?.t ?? this._startUs) - TOLERANCE_US) {
        this._cuts.push({ index: this._audio.length, t });
      }
      this._audio.push(item);
      this._audioUs = Math.max(this._audioUs, t);
    }
    return this._close(false);
  }

  /** Ends the stream: closes every pending segment and the last one. */
  finish(): Segment[] {
    const out = this._close(true);
    if (this._video.length + this._audio.length > 0) {
      out.push(this._emit(this._endUs, this._video, this._audio));
      this._video = [];
      this._audio = [];
    }
    return out;
  }

  private _nextBoundary(fromUs: Microseconds): Microseconds {
    // Audio priming may put the first packet a little before 0: the grid still starts at 0.
    return (Math.floor((Math.max(0, fromUs) + TOLERANCE_US) / this.targetUs) + 1) * this.targetUs;
  }

  private _close(ending: boolean): Segment[] {
    const out: Segment[] = [];
    while (this._cuts.length > 0) {
      const cut = this._cuts[0]!;
      if (this._hasVideo) {
        const ready = ending || !this._hasAudio || this._audioUs >= cut.t || this._videoUs >= cut.t + this.targetUs;
        if (!ready) break;
        const video = this._video.splice(0, cut.index);
        const n = this._audio.findIndex((a) => a.chunk.timestamp >= cut.t);
        const audio = this._audio.splice(0, n < 0 ? this._audio.length : n);
        out.push(this._emit(cut.t, video, audio));
        this._cuts.shift();
        for (const c of this._cuts) c.index -= cut.index;
      } else {
        const audio = this._audio.splice(0, cut.index);
        out.push(this._emit(cut.t, [], audio));
        this._cuts.shift();
        for (const c of this._cuts) c.index -= cut.index;
      }
    }
    return out;
  }

  private _emit(endUs: Microseconds, video: EncodedOutput[], audio: EncodedOutput[]): Segment {
    const startUs = this._startUs!;
    this._startUs = endUs;
    return { index: this._count++, startUs, endUs, items: [...video, ...audio] };
  }
}
