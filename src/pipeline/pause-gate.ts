import { AudioData } from '../media/audio-data.js';
import { EncodedChunk, type EncodedOutput } from '../media/encoded-chunk.js';
import { VideoFrame } from '../media/video-frame.js';
import type { Microseconds } from '../time.js';
import type { PauseCuts } from './pause-cuts.js';

/**
 * A branch's raw media through the run's pause cuts, just before its tee (after decode, rate and mix,
 * on the source's timeline): a frame in a cut is dropped, audio is cut to the sample, what follows is
 * moved back. `onCut` is told where the first video frame after a cut lands (its encoder makes it a
 * keyframe).
 * @internal
 */
export function rawPauseGate(cuts: PauseCuts, onCut?: (atUs: Microseconds) => void): TransformStream<VideoFrame | AudioData, VideoFrame | AudioData> {
  let shiftUs = 0;
  return new TransformStream<VideoFrame | AudioData, VideoFrame | AudioData>({
    transform: (item, c) => {
      const duration = item.duration ?? 0;
      cuts.see(item.timestamp + duration);
      if (item instanceof VideoFrame) {
        const at = cuts.place(item.timestamp);
        if (at === null) {
          item.close();
          return;
        }
        if (item.timestamp - at !== shiftUs) {
          shiftUs = item.timestamp - at;
          onCut?.(at);
        }
        if (shiftUs === 0) c.enqueue(item);
        else {
          c.enqueue(item.retimed(at, duration));
          item.close();
        }
        return;
      }
      const pieces = cuts.kept(item.timestamp, item.timestamp + duration);
      const whole = pieces.length === 1 && pieces[0]!.shiftUs === 0 && pieces[0]!.fromUs === item.timestamp && pieces[0]!.toUs === item.timestamp + duration;
      if (whole) {
        c.enqueue(item);
        return;
      }
      const rate = item.sampleRate;
      const planes = item.planes();
      for (const p of pieces) {
        const from = Math.round(((p.fromUs - item.timestamp) * rate) / 1e6);
        const to = Math.min(item.numberOfFrames, Math.round(((p.toUs - item.timestamp) * rate) / 1e6));
        if (to <= from) continue;
        c.enqueue(new AudioData({
          format: item.format, sampleRate: rate, numberOfFrames: to - from, numberOfChannels: item.numberOfChannels,
          timestamp: item.timestamp + Math.round((from * 1e6) / rate) - p.shiftUs, data: planes.map((x) => x.subarray(from, to)),
        }));
      }
      item.close();
    },
  });
}

/**
 * A copied track's packets through the run's pause cuts: a packet in a cut is dropped, what follows
 * moves back; video after a cut waits for a keyframe (asked of the source with `askKey`), since the
 * packets it would refer to are gone. A dropped packet's metadata (the decoder config) goes with the next.
 * @internal
 */
export function copyPauseGate(cuts: PauseCuts, askKey?: () => void): TransformStream<EncodedOutput, EncodedOutput> {
  let needKey = false;
  let metadata: EncodedOutput['metadata'] | undefined;
  return new TransformStream<EncodedOutput, EncodedOutput>({
    transform: (out, c) => {
      const chunk = out.chunk;
      cuts.see(chunk.timestamp + (chunk.duration ?? 0));
      const at = cuts.place(chunk.timestamp);
      const drop = at === null || (needKey && chunk.type !== 'key');
      if (drop) {
        if (out.metadata.decoderConfig !== undefined) metadata = out.metadata;
        // Asked for once the cut is over (a publisher asked during the pause would send keyframes for nothing).
        if (out.kind === 'video') {
          if (at !== null) askKey?.();
          needKey = true;
        }
        return;
      }
      needKey = false;
      const moved = at === chunk.timestamp ? chunk : new EncodedChunk({
        type: chunk.type, timestamp: at, data: chunk.data,
        ...(chunk.duration === null ? {} : { duration: chunk.duration }),
        ...(chunk.decodeTimestamp === null ? {} : { decodeTimestamp: chunk.decodeTimestamp - (chunk.timestamp - at) }),
      });
      c.enqueue({ ...out, chunk: moved, metadata: metadata ?? out.metadata } as EncodedOutput);
      metadata = undefined;
    },
  });
}
