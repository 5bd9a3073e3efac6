import type {
  AudioEncoderInit, AudioEncoderLike, CodecProvider, VideoEncoderConfig, VideoEncoderInit, VideoEncoderLike,
} from '../../src/index.js';
import type { VideoFrame } from '../../src/index.js';

/** A real provider whose video encoder reports an error after `afterFrames` frames (a codec crash mid-run). */
export function failingVideoProvider(real: CodecProvider, afterFrames: number): CodecProvider {
  return {
    name: `${real.name}+failing`,
    createAudioEncoder: (init: AudioEncoderInit): AudioEncoderLike => real.createAudioEncoder(init),
    createVideoEncoder: (init: VideoEncoderInit): VideoEncoderLike => {
      const inner = real.createVideoEncoder(init);
      let n = 0;
      return {
        get state() { return inner.state; },
        get encodeQueueSize() { return inner.encodeQueueSize; },
        get ondequeue() { return inner.ondequeue; },
        set ondequeue(f) { inner.ondequeue = f; },
        configure: (c: VideoEncoderConfig) => inner.configure(c),
        encode: (frame: VideoFrame, o?: { keyFrame?: boolean }) => {
          if (++n > afterFrames) {
            frame.close();
            inner.close();
            setImmediate(() => init.error(new Error('injected encoder failure')));
            return;
          }
          inner.encode(frame, o);
        },
        flush: () => inner.flush(),
        close: () => inner.close(),
      };
    },
  };
}

/** A real provider whose video encoder takes at least `delayMs` per frame: an overloaded encoder. */
export function slowVideoProvider(real: CodecProvider, delayMs: number, blocking = false): CodecProvider {
  return {
    name: `${real.name}+slow`,
    createAudioEncoder: (init: AudioEncoderInit): AudioEncoderLike => real.createAudioEncoder(init),
    ...(real.createVideoDecoder === undefined ? {} : { createVideoDecoder: real.createVideoDecoder.bind(real) }),
    ...(real.createAudioDecoder === undefined ? {} : { createAudioDecoder: real.createAudioDecoder.bind(real) }),
    createVideoEncoder: (init: VideoEncoderInit): VideoEncoderLike => {
      const inner = real.createVideoEncoder(init);
      const waiting: { frame: VideoFrame; keyFrame: boolean }[] = [];
      let busy = false;
      let flushWaiter: (() => void) | undefined;
      const enc: VideoEncoderLike = {
        get state() { return inner.state; },
        get encodeQueueSize() { return waiting.length + inner.encodeQueueSize; },
        ondequeue: null,
        configure: (c) => inner.configure(c),
        encode: (frame, o) => {
          waiting.push({ frame, keyFrame: o?.keyFrame === true });
          pump();
        },
        flush: async () => {
          if (waiting.length > 0 || busy) await new Promise<void>((r) => (flushWaiter = r));
          await inner.flush();
        },
        close: () => {
          for (const w of waiting.splice(0)) w.frame.close();
          inner.close();
        },
      };
      inner.ondequeue = () => enc.ondequeue?.();
      const pump = (): void => {
        if (busy) return;
        const next = waiting.shift();
        if (next === undefined) {
          flushWaiter?.();
          flushWaiter = undefined;
          return;
        }
        busy = true;
        // Blocking: the thread is held for the whole delay, as a synchronous native encode slower than
        // realtime holds it; otherwise the delay is a timer.
        const after = (fn: () => void): unknown => (blocking ? setImmediate(() => {
          const until = performance.now() + delayMs;
          while (performance.now() < until) { /* busy */ }
          fn();
        }) : setTimeout(fn, delayMs));
        after(() => {
          busy = false;
          if (inner.state === 'configured') inner.encode(next.frame, { keyFrame: next.keyFrame });
          else next.frame.close();
          enc.ondequeue?.();
          pump();
        });
      };
      return enc;
    },
  };
}
