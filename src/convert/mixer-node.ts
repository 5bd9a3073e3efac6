import type { AudioData } from '../media/audio-data.js';
import type { AudioMixer } from './audio-mixer.js';
import type { Microseconds } from '../time.js';

/** Where the session ends, as far as it is known: a track that ended early is extended that far. */
export interface SessionEnd {
  /** The end so far, and whether it is final. */
  until(): { us: Microseconds; final: boolean };
  /** Resolves when {@link until} may have moved on. */
  changed(): Promise<void>;
}

/**
 * The stream adapter of the {@link AudioMixer}: one WritableStream per input, one ReadableStream out.
 * An input that runs more than `windowFrames` ahead of the mix waits (backpressure), so a long
 * export holds at most that much audio per input in memory. Once every input has ended, the mix goes
 * on in silence to the session's end (`end`), made as the session gets there.
 * @internal
 */
export class MixerNode {
  readonly mixer: AudioMixer;
  readonly inputs: WritableStream<AudioData>[];
  readonly readable: ReadableStream<AudioData>;
  private _wakeReader: (() => void) | undefined;
  private readonly _wakeWriters = new Set<() => void>();
  private _failure: unknown;

  constructor(mixer: AudioMixer, inputCount: number, windowFrames: number, end?: SessionEnd) {
    this.mixer = mixer;
    this.inputs = Array.from({ length: inputCount }, (_, i) => new WritableStream<AudioData>({
      write: async (data) => {
        while (this._failure === undefined && mixer.lead(i) > windowFrames) {
          await new Promise<void>((resolve) => this._wakeWriters.add(resolve));
        }
        if (this._failure !== undefined) {
          data.close();
          throw this._failure;
        }
        mixer.push(i, data);
        this._wake();
      },
      close: () => {
        mixer.end(i);
        this._wake();
      },
      abort: (reason) => this._fail(reason),
    }));
    this.readable = new ReadableStream<AudioData>({
      pull: async (controller) => {
        for (;;) {
          if (this._failure !== undefined) {
            controller.error(this._failure);
            return;
          }
          const extending = end !== undefined && mixer.inputsEnded;
          if (extending) {
            const until = end.until();
            mixer.extendTo(until.us, until.final);
          }
          const blocks = mixer.pull();
          if (blocks.length > 0) {
            for (const b of blocks) controller.enqueue(b);
            this._wakeAllWriters();
            return;
          }
          if (mixer.done) {
            controller.close();
            return;
          }
          if (extending) await Promise.race([end.changed(), new Promise<void>((resolve) => (this._wakeReader = resolve))]);
          else await new Promise<void>((resolve) => (this._wakeReader = resolve));
        }
      },
      cancel: (reason) => this._fail(reason ?? new Error('mixer cancelled')),
    }, { highWaterMark: 0 });
  }

  private _fail(reason: unknown): void {
    this._failure ??= reason ?? new Error('mixer input aborted');
    this._wake();
    this._wakeAllWriters();
  }

  private _wake(): void {
    const w = this._wakeReader;
    this._wakeReader = undefined;
    w?.();
  }

  private _wakeAllWriters(): void {
    const ws = [...this._wakeWriters];
    this._wakeWriters.clear();
    for (const w of ws) w();
  }
}
