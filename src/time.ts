/**
 * Media time inside avpipe is an integer count of microseconds. Wall clock appears only for pacing
 * live sources and for startedAt/endedAt stamps.
 */
export type Microseconds = number;

/** Microseconds per second. */
export const US_PER_SECOND = 1_000_000;

/** Media time of frame `index` at `fps` frames per second, rounded to the microsecond. @internal */
export function frameTimestamp(index: number, fps: number): Microseconds {
  return Math.round((index * US_PER_SECOND) / fps);
}

/** Media time of sample `index` at `sampleRate`, rounded to the microsecond. @internal */
export function sampleTimestamp(index: number, sampleRate: number): Microseconds {
  return Math.round((index * US_PER_SECOND) / sampleRate);
}

/** Seconds (float, as mediabunny takes them) from microseconds. @internal */
export function usToSeconds(us: Microseconds): number {
  return us / US_PER_SECOND;
}

/**
 * A forward jump in audio time larger than this is a gap (a live track's mute, lost packets), not
 * rounding: more than a container's millisecond rounding, less than one 20 ms Opus packet (a single
 * lost packet must not shift what follows). Sample clocks re-anchor on it.
 */
export const AUDIO_GAP_US = 10_000;

/**
 * A sample counter anchored at the first buffer's time: audio placed by it is gapless and drift-free
 * whatever rounding its own timestamps carry, while a forward jump of more than {@link AUDIO_GAP_US}
 * re-anchors it, so audio after a gap keeps its place. The rate may change (the counter restarts).
 * @internal
 */
export class SampleClock {
  private _rate = 0;
  private _origin = 0;
  private _samples = 0;
  private _started = false;

  /**
   * Places `n` samples at `rate` that say they start at `timestamp` (undefined: they follow on);
   * returns their time and the gap jumped (0 if none).
   */
  place(timestamp: Microseconds | undefined, n: number, rate: number): { timestamp: Microseconds; gap: Microseconds } {
    let gap = 0;
    if (!this._started || rate !== this._rate) {
      this._started = true;
      this._rate = rate;
      this._origin = timestamp ?? 0;
      this._samples = 0;
    } else if (timestamp !== undefined) {
      const expected = this._origin + Math.round((this._samples * US_PER_SECOND) / rate);
      if (timestamp - expected > AUDIO_GAP_US) {
        gap = timestamp - expected;
        this._origin = timestamp;
        this._samples = 0;
      }
    }
    const at = this._origin + Math.round((this._samples * US_PER_SECOND) / rate);
    this._samples += n;
    return { timestamp: at, gap };
  }
}
