import { AudioData } from '../media/audio-data.js';
import { SampleClock } from '../time.js';

/**
 * Converts f32-planar audio to one rate and channel count. Subclasses do the arithmetic (FFmpeg's
 * swresample natively, a windowed sinc in TypeScript); this half does the time: output timestamps
 * come from a sample counter anchored at the first input, so resampling never drifts, and a gap in
 * the input (a live track's mute, lost packets) moves the output on by as much. Public as the base of
 * what a codec provider's `createAudioResampler` returns.
 */
export abstract class AudioResampler {
  /** The output's samples per second (Hz). */
  readonly sampleRate: number;
  /** The output's channel count. */
  readonly channels: number;
  private _active = false;
  private _origin: number | undefined;
  private _out = 0;
  /** The input's own clock, to see its gaps. */
  private readonly _inClock = new SampleClock();

  protected constructor(sampleRate: number, channels: number) {
    this.sampleRate = sampleRate;
    this.channels = channels;
  }

  /** The audio at the target format (the same object when it already is and always was). */
  process(data: AudioData): AudioData | null {
    if (data.sampleRate === this.sampleRate && data.numberOfChannels === this.channels && !this._active) return data;
    this._active = true;
    this._origin ??= data.timestamp;
    this._origin += this._inClock.place(data.timestamp, data.numberOfFrames, data.sampleRate).gap;
    const out = this.convert(data.planes(), data.numberOfFrames, data.sampleRate);
    data.close();
    return this._wrap(out);
  }

  /** Drains what the converter still holds. */
  flush(): AudioData | null {
    return this._active ? this._wrap(this.drain()) : null;
  }

  /** Idempotent. */
  abstract close(): void;

  /** Converts `n` samples of each input plane; returns the output planes, all of one length. */
  protected abstract convert(planes: readonly Float32Array[], n: number, sampleRate: number): Float32Array[];
  /** What the converter holds at the end of the input. */
  protected abstract drain(): Float32Array[];

  private _wrap(planes: Float32Array[]): AudioData | null {
    const n = planes[0]?.length ?? 0;
    if (n <= 0) return null;
    const timestamp = this._origin! + Math.round((this._out * 1e6) / this.sampleRate);
    this._out += n;
    return new AudioData({ format: 'f32-planar', sampleRate: this.sampleRate, numberOfFrames: n, numberOfChannels: this.channels, timestamp, data: planes });
  }
}
