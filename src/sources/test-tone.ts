import { AudioData } from '../media/audio-data.js';
import type { Microseconds } from '../time.js';

/** Beep frequency and length. */
export const BEEP_HZ = 1000;
export const BEEP_MS = 100;
const BEEP_AMPLITUDE = 0.5;

/**
 * The test source's sound, the pure core: silence with a 1 kHz beep starting exactly at each whole
 * second. One second is rendered once; every 20 ms buffer is a view into it.
 */
export class TestTone {
  readonly sampleRate: number;
  readonly channels: number;
  /** Samples per buffer: 20 ms. */
  readonly bufferFrames: number;
  private readonly _second: Float32Array[];

  constructor(sampleRate: number, channels: number) {
    if (sampleRate % 50 !== 0) throw new TypeError(`test tone sample rate must be a multiple of 50 Hz, got ${sampleRate}`);
    this.sampleRate = sampleRate;
    this.channels = channels;
    this.bufferFrames = sampleRate / 50;
    const beepSamples = Math.round((sampleRate * BEEP_MS) / 1000);
    const plane = new Float32Array(sampleRate);
    for (let i = 0; i < beepSamples; i++) plane[i] = BEEP_AMPLITUDE * Math.sin((2 * Math.PI * BEEP_HZ * i) / sampleRate);
    this._second = Array.from({ length: channels }, () => plane);
  }

  /** Buffers per second (50). */
  get buffersPerSecond(): number {
    return 50;
  }

  /** Buffer `index` (20 ms each). */
  buffer(index: number, timestamp: Microseconds): AudioData {
    const at = (index % 50) * this.bufferFrames;
    const planes = this._second.map((p) => p.subarray(at, at + this.bufferFrames));
    return new AudioData({
      format: 'f32-planar', sampleRate: this.sampleRate, numberOfFrames: this.bufferFrames,
      numberOfChannels: this.channels, timestamp, data: planes,
    });
  }
}
