import type { AudioData } from '../media/audio-data.js';
import type { AudioMixer } from './audio-mixer.js';
import type { Microseconds } from '../time.js';
import { Signal } from '../signal.js';

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
  /** Wakes the reader: an input gave audio or ended, or the mixer failed. */
  private readonly _input = new Signal();
  /** Wakes the inputs waiting for the mix to catch up: blocks went out, or the mixer failed. */
  private readonly _output = new Signal();
  private _failure: unknown;

  constructor(mixer: AudioMixer, inputCount: number, windowFrames: number, end?: SessionEnd) {
    this.mixer = mixer;
    this.inputs = Array.from({ length: inputCount }, (_, i) => new WritableStream<AudioData>({
      write: async (data) => {
        while (this._failure === undefined && mixer.lead(i) > windowFrames) {
          await this._output.wait();
        }
        if (this._failure !== undefined) {
          data.close();
          throw this._failure;
        }
        mixer.push(i, data);
        this._input.notify();
      },
      close: () => {
        mixer.end(i);
        this._input.notify();
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
            this._output.notify();
            return;
          }
          if (mixer.done) {
            controller.close();
            return;
          }
          if (extending) {
            // The wait that loses the race is dropped: the session's end moves on with every frame.
            const changed = new AbortController();
            await Promise.race([end.changed(), this._input.wait({ signal: changed.signal })]);
            changed.abort();
          } else await this._input.wait();
        }
      },
      cancel: (reason) => this._fail(reason ?? new Error('mixer cancelled')),
    }, { highWaterMark: 0 });
  }

  private _fail(reason: unknown): void {
    this._failure ??= reason ?? new Error('mixer input aborted');
    this._input.notify();
    this._output.notify();
  }
}
