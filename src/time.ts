/**
 * Media time inside avpipe is an integer count of microseconds. Wall clock appears only for pacing
 * live sources and for startedAt/endedAt stamps.
 */
export type Microseconds = number;

/** Microseconds per second. */
export const US_PER_SECOND = 1_000_000;

/** Media time of frame `index` at `fps` frames per second, rounded to the microsecond. */
export function frameTimestamp(index: number, fps: number): Microseconds {
  return Math.round((index * US_PER_SECOND) / fps);
}

/** Media time of sample `index` at `sampleRate`, rounded to the microsecond. */
export function sampleTimestamp(index: number, sampleRate: number): Microseconds {
  return Math.round((index * US_PER_SECOND) / sampleRate);
}

/** Seconds (float, as mediabunny takes them) from microseconds. */
export function usToSeconds(us: Microseconds): number {
  return us / US_PER_SECOND;
}

/**
 * A forward jump in audio time larger than this is a gap (a live track's mute, lost packets), not
 * rounding: more than a container's millisecond rounding, less than one 20 ms Opus packet (a single
 * lost packet must not shift what follows). Sample clocks re-anchor on it.
 */
export const AUDIO_GAP_US = 10_000;
