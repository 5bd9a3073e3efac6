import type { Microseconds } from '../time.js';

/** Sample formats avpipe's audio buffers carry: planar 32-bit float, WebCodecs' 'f32-planar'. */
export type AudioSampleFormat = 'f32-planar';

/** What an AudioData is built from (WebCodecs AudioDataInit, planes given separately). */
export interface AudioDataInit {
  /** Always `'f32-planar'`; anything else throws. */
  format: AudioSampleFormat;
  /** Samples per second (Hz). */
  sampleRate: number;
  /** Samples per channel. */
  numberOfFrames: number;
  /** Channels, one plane each. */
  numberOfChannels: number;
  /** Media time of the first sample, microseconds. */
  timestamp: Microseconds;
  /**
   * Planar samples: one plane of numberOfFrames samples after another, or (avpipe extension) one
   * array per plane, taken as views without copying.
   */
  data: Float32Array | readonly Float32Array[];
}

/**
 * A buffer of raw audio, shaped like WebCodecs' AudioData. Planes may be views into a buffer the
 * creator owns (no copy).
 */
export class AudioData {
  /** Always `'f32-planar'`. */
  readonly format: AudioSampleFormat;
  /** Samples per second (Hz). */
  readonly sampleRate: number;
  /** Samples per channel. */
  readonly numberOfFrames: number;
  /** Channels, one plane each. */
  readonly numberOfChannels: number;
  /** Media time of the first sample, microseconds. */
  readonly timestamp: Microseconds;
  private _planes: Float32Array[] | null;

  constructor(init: AudioDataInit) {
    if (init.format !== 'f32-planar') throw new TypeError(`init.format must be 'f32-planar', got ${String(init.format)}`);
    const n = init.numberOfFrames;
    const data = init.data;
    const planes = data instanceof Float32Array
      ? Array.from({ length: init.numberOfChannels }, (_, c) => data.subarray(c * n, (c + 1) * n))
      : [...data];
    if (planes.length !== init.numberOfChannels || planes.some((p) => p.length < n)) {
      throw new TypeError('init.data is smaller than numberOfFrames x numberOfChannels');
    }
    this.format = init.format;
    this.sampleRate = init.sampleRate;
    this.numberOfFrames = n;
    this.numberOfChannels = init.numberOfChannels;
    this.timestamp = init.timestamp;
    this._planes = planes;
  }

  /** Duration in microseconds. */
  get duration(): Microseconds {
    return Math.round((this.numberOfFrames * 1_000_000) / this.sampleRate);
  }

  /** avpipe extension: the planes as views (no copy). */
  planes(): readonly Float32Array[] {
    if (this._planes === null) throw new TypeError('AudioData is closed');
    return this._planes;
  }

  /** Bytes copyTo() writes for one plane. */
  allocationSize(options: { planeIndex: number }): number {
    void options;
    return this.numberOfFrames * 4;
  }

  /** Copies one plane into `dest` (WebCodecs copyTo, f32-planar only). */
  copyTo(dest: Float32Array, options: { planeIndex: number }): void {
    const p = this.planes()[options.planeIndex];
    if (p === undefined) throw new RangeError(`options.planeIndex ${options.planeIndex} is out of range`);
    dest.set(p);
  }

  /** Another handle on the same samples (WebCodecs clone; the memory is GC-owned, so no copy). */
  clone(): AudioData {
    return new AudioData({
      format: this.format, sampleRate: this.sampleRate, numberOfFrames: this.numberOfFrames,
      numberOfChannels: this.numberOfChannels, timestamp: this.timestamp, data: this.planes(),
    });
  }

  /** Releases the buffer; idempotent. */
  close(): void {
    this._planes = null;
  }
}
