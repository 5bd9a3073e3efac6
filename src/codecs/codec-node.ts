import { AvpipeError, toAvpipeError, type AvpipeErrorCode } from '../errors.js';
import type { CodecState } from './codec-provider.js';
import { Signal } from '../signal.js';

/** The part of a WebCodecs encoder or decoder a graph node drives. */
export interface CodecLike {
  readonly state: CodecState;
  ondequeue: (() => void) | null;
  flush(): Promise<void>;
  close(): void;
}

/** How a {@link CodecNode} talks to its codec. */
export interface CodecNodeInit<I, O, C extends CodecLike> {
  name: string;
  /** The error code a failure of this codec is reported with. */
  errorCode: AvpipeErrorCode;
  /** Builds and configures the codec with the node's output and error callbacks. */
  make: (output: (o: O) => void, error: (e: Error) => void) => C;
  /** The codec's own queue: encodeQueueSize or decodeQueueSize. */
  queueSize: (codec: C) => number;
  /** Hands one input to the codec (encode or decode). */
  submit: (codec: C, input: I) => void;
  /** At most this many inputs wait inside the codec; the node's input waits beyond that. */
  maxQueue: number;
}

/**
 * The graph node around a WebCodecs-shaped codec: a TransformStream whose `transform()` waits while
 * the codec holds `maxQueue` inputs (so backpressure reaches the stage in front), that errors with the
 * codec's error, and that flushes the codec at end of stream. Encoders and decoders both build on it.
 * @internal
 */
export class CodecNode<I extends { close(): void }, O, C extends CodecLike> {
  readonly stream: TransformStream<I, O>;
  readonly codec: C;
  /** Wakes `transform()` waiting for room in the codec's queue: a dequeue, an error, close(). */
  private readonly _room = new Signal();
  private _error: AvpipeError | undefined;

  constructor(init: CodecNodeInit<I, O, C>) {
    const { name, errorCode, queueSize, submit, maxQueue } = init;
    let controller!: TransformStreamDefaultController<O>;
    const codec = init.make(
      (o) => controller.enqueue(o),
      (e) => {
        this._error = toAvpipeError(errorCode, `${name} failed`, e);
        controller.error(this._error);
        this._room.notify();
      },
    );
    this.codec = codec;
    codec.ondequeue = () => this._room.notify();
    this.stream = new TransformStream<I, O>({
      start: (c) => {
        controller = c;
      },
      transform: async (input) => {
        while (this._error === undefined && codec.state === 'configured' && queueSize(codec) >= maxQueue) {
          await this._room.wait();
        }
        // WebCodecs reports errors through a callback after the codec has closed: give it a turn.
        if (this._error === undefined && codec.state !== 'configured') await new Promise((r) => setImmediate(r));
        if (this._error !== undefined || codec.state !== 'configured') {
          input.close();
          throw this._error ?? new AvpipeError(errorCode, `${name} is closed`);
        }
        submit(codec, input);
      },
      flush: async () => {
        if (codec.state === 'configured') await codec.flush();
        if (this._error !== undefined) throw this._error;
        codec.close();
      },
    });
  }

  /** Releases the codec; idempotent. Needed when the stream was cancelled instead of flushed. */
  close(): void {
    this.codec.close();
    this._room.notify();
  }
}
