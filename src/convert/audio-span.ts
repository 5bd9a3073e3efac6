import { AudioData } from '../media/audio-data.js';
import type { Microseconds } from '../time.js';

/**
 * The part of decoded audio within `startUs`..`endUs` (a trimmed track's span), sample-accurate: the
 * buffer itself when it lies inside, a view of its samples inside when a bound falls within it, null
 * when none is. The input is closed when it is not what is returned.
 * @internal
 */
export function audioWithin(data: AudioData, startUs: Microseconds, endUs: Microseconds): AudioData | null {
  const n = data.numberOfFrames;
  const from = Math.max(0, Math.round(((startUs - data.timestamp) * data.sampleRate) / 1e6));
  const to = Math.min(n, Math.round(((endUs - data.timestamp) * data.sampleRate) / 1e6));
  if (from === 0 && to >= n) return data;
  if (to <= from) {
    data.close();
    return null;
  }
  const cut = new AudioData({
    format: data.format, sampleRate: data.sampleRate, numberOfFrames: to - from, numberOfChannels: data.numberOfChannels,
    timestamp: data.timestamp + Math.round((from * 1e6) / data.sampleRate), data: data.planes().map((p) => p.subarray(from, to)),
  });
  data.close();
  return cut;
}
