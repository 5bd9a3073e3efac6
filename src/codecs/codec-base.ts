import { AvpipeError, toAvpipeError, type AvpipeErrorCode } from '../errors.js';
import type { EncodedChunk } from '../media/encoded-chunk.js';
import type { CodecState } from './codec-provider.js';

/** What a codec is handed: frames, audio buffers and chunks, which the codec owns once accepted. */
interface Input {
  close(): void;
}

/** A `flush()` caller still waiting. */
interface PendingFlush {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * The WebCodecs state machine every avpipe encoder and decoder shares, so that each codec (FFmpeg
 * through node-av, ffmpeg.wasm, libav.js, opusscript) only opens its codec, takes one input, drains
 * and releases:
 * - `configure()` moves 'unconfigured' (or 'configured') to 'configured'; a closed codec stays closed.
 * - `encode()`/`decode()` and `flush()` need 'configured'; a refused input is closed, since the codec owns it.
 * - The queue size counts what a subclass marks {@link enqueued} and not yet {@link dequeued};
 *   each dequeue calls `ondequeue`, which is how a graph node learns the codec has room again.
 * - A failure is reported once through the error callback, after the codec has closed (WebCodecs'
 *   order), and rejects the flushes still waiting; nothing is reported or counted after close.
 * - `close()` is idempotent; flushes still waiting resolve (the caller asked to stop, nothing failed).
 * @internal
 */
export abstract class CodecBase<Config> {
  ondequeue: (() => void) | null = null;
  private _state: CodecState = 'unconfigured';
  private _queueSize = 0;
  private readonly _flushes = new Set<PendingFlush>();
  /** `VideoEncoder`, `AudioDecoder`...: the WebCodecs interface named in state errors. */
  private readonly _kind: string;
  private readonly _errorCode: AvpipeErrorCode;
  private readonly _onError: (error: Error) => void;

  protected constructor(kind: string, errorCode: AvpipeErrorCode, onError: (error: Error) => void) {
    this._kind = kind;
    this._errorCode = errorCode;
    this._onError = onError;
  }

  get state(): CodecState {
    return this._state;
  }

  configure(config: Config): void {
    if (this._state === 'closed') throw new AvpipeError('INVALID_STATE', `${this._kind} is closed`);
    this.open(config);
    this._state = 'configured';
  }

  /** Resolves once everything accepted before it has come out; rejects with the failure if the codec fails first. */
  flush(): Promise<void> {
    if (this._state !== 'configured') return Promise.reject(this._stateError('flush'));
    return new Promise<void>((resolve, reject) => {
      const pending = { resolve, reject };
      this._flushes.add(pending);
      let drained: Promise<void>;
      try {
        drained = this.drain();
      } catch (err) {
        drained = Promise.reject(err);
      }
      // A flush that close() or fail() already settled is left as it is.
      drained.then(() => {
        if (this._flushes.delete(pending)) resolve();
      }, (err: unknown) => {
        if (this._flushes.delete(pending)) reject(err);
      });
    });
  }

  /** Idempotent: releases the codec; inputs still queued are dropped and waiting flushes resolve. */
  close(): void {
    if (this._state === 'closed') return;
    this._state = 'closed';
    this._queueSize = 0;
    this.release();
    for (const f of this._flushes) f.resolve();
    this._flushes.clear();
  }

  /** Inputs accepted and not yet taken by the codec: WebCodecs' encodeQueueSize / decodeQueueSize. */
  protected get queueSize(): number {
    return this._queueSize;
  }

  /** One more input waits for the codec. */
  protected enqueued(): void {
    this._queueSize++;
  }

  /** `n` inputs were taken by the codec: the queue shrinks and `ondequeue` is told (once), unless closed. */
  protected dequeued(n = 1): void {
    if (this._state === 'closed') return;
    this._queueSize -= n;
    this.ondequeue?.();
  }

  /**
   * Reports a failure once: the codec closes, waiting flushes reject with the error, then the error
   * callback hears of it. Anything after (a late worker message, a second failure) is ignored.
   */
  protected fail(err: unknown): void {
    if (this._state === 'closed') return;
    const error = toAvpipeError(this._errorCode, this.codecName, err);
    for (const f of this._flushes) f.reject(error);
    this._flushes.clear();
    this.close();
    this._onError(error);
  }

  /** Refuses `input` unless configured: it is closed (the codec owns it from the call) and INVALID_STATE thrown. */
  protected checkConfigured(method: string, input: Input): void {
    if (this._state === 'configured') return;
    input.close();
    throw this._stateError(method);
  }

  /** The codec as failures name it (`libx264`, `wasm AAC encoder`), before the cause's message. */
  protected abstract get codecName(): string;
  /** Opens (or reopens) the codec for `config`; throws when it cannot, leaving the state as it was. */
  protected abstract open(config: Config): void;
  /** Emits everything accepted so far; the base settles the caller's promise. */
  protected abstract drain(): Promise<void>;
  /** Frees the codec and drops what is queued (closing the inputs); called once, by close(). */
  protected abstract release(): void;

  private _stateError(method: string): AvpipeError {
    return new AvpipeError('INVALID_STATE', `${this._kind}.${method}() while ${this._state}`);
  }
}

/** A WebCodecs-shaped encoder: `encode()` and `encodeQueueSize` over {@link CodecBase}. @internal */
export abstract class EncoderBase<Config, I extends Input, Options = never> extends CodecBase<Config> {
  get encodeQueueSize(): number {
    return this.queueSize;
  }

  /** Takes ownership of `input`: it is closed once copied, or at once when refused. */
  encode(input: I, options?: Options): void {
    this.checkConfigured('encode', input);
    this.submit(input, options);
  }

  /** Encodes `input` now, or queues it (marking it {@link enqueued}); the state is 'configured'. */
  protected abstract submit(input: I, options: Options | undefined): void;
}

/** A WebCodecs-shaped decoder: `decode()` and `decodeQueueSize` over {@link CodecBase}. @internal */
export abstract class DecoderBase<Config> extends CodecBase<Config> {
  get decodeQueueSize(): number {
    return this.queueSize;
  }

  decode(chunk: EncodedChunk): void {
    this.checkConfigured('decode', chunk);
    this.submit(chunk);
  }

  /** Decodes `chunk` now, or queues it (marking it {@link enqueued}); the state is 'configured'. */
  protected abstract submit(chunk: EncodedChunk): void;
}
