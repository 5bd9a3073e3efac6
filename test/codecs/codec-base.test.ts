import { describe, expect, it } from 'vitest';
import { AvpipeError } from '../../src/errors.js';
import { DecoderBase, EncoderBase } from '../../src/codecs/codec-base.js';
import { EncodedVideoChunk, type EncodedChunk } from '../../src/media/encoded-chunk.js';

/** An input that records being closed. */
class Item {
  closed = false;
  constructor(readonly n: number) {}
  close(): void {
    this.closed = true;
  }
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** The smallest codec on the base: one queued item "encoded" per event-loop turn; item `failOn` fails. */
class TurnEncoder extends EncoderBase<{ codec: string }, Item, { keyFrame?: boolean }> {
  readonly out: string[] = [];
  readonly log: string[] = [];
  failOn: number | undefined;
  private readonly _queue: { item: Item; key: boolean }[] = [];
  private readonly _drains: (() => void)[] = [];

  constructor(error: (e: Error) => void) {
    super('TurnEncoder', 'ENCODER_FAILED', error);
  }

  /** A second failure from elsewhere (a late worker message). */
  failAgain(): void {
    this.fail(new Error('late'));
  }

  protected get codecName(): string {
    return 'turn codec';
  }

  protected open(config: { codec: string }): void {
    if (config.codec !== 'turn') throw new AvpipeError('ENCODER_FAILED', `unsupported codec "${config.codec}"`);
    this.log.push('open');
  }

  protected submit(item: Item, options: { keyFrame?: boolean } | undefined): void {
    this._queue.push({ item, key: options?.keyFrame === true });
    this.enqueued();
    setImmediate(() => this._step());
  }

  protected drain(): Promise<void> {
    this.log.push('drain');
    return new Promise((resolve) => {
      if (this._queue.length === 0) resolve();
      else this._drains.push(resolve);
    });
  }

  protected release(): void {
    this.log.push('release');
    for (const q of this._queue.splice(0)) q.item.close();
  }

  private _step(): void {
    const next = this._queue.shift();
    if (next === undefined) return;
    next.item.close();
    if (next.item.n === this.failOn) return this.fail(new Error('boom'));
    this.out.push(`${next.item.n}${next.key ? 'k' : ''}`);
    this.dequeued();
    if (this._queue.length === 0) for (const d of this._drains.splice(0)) d();
  }
}

/** A decoder that decodes at once: its queue stays empty. */
class NowDecoder extends DecoderBase<{ codec: string }> {
  readonly out: number[] = [];
  constructor(error: (e: Error) => void) {
    super('VideoDecoder', 'SOURCE_FAILED', error);
  }
  protected get codecName(): string {
    return 'now decoder';
  }
  protected open(): void {}
  protected submit(chunk: EncodedChunk): void {
    if (chunk.byteLength === 0) return this.fail(new Error('empty chunk'));
    this.out.push(chunk.timestamp);
  }
  protected async drain(): Promise<void> {}
  protected release(): void {}
}

function setup(): { enc: TurnEncoder; errors: Error[]; dequeues: number[] } {
  const errors: Error[] = [];
  const enc = new TurnEncoder((e) => {
    // WebCodecs' order: the codec is closed when its error callback runs.
    expect(enc.state).toBe('closed');
    errors.push(e);
  });
  const dequeues: number[] = [];
  enc.ondequeue = () => dequeues.push(enc.encodeQueueSize);
  return { enc, errors, dequeues };
}

describe('CodecBase: the WebCodecs state machine the encoders and decoders share', () => {
  it('refuses work before configure() with INVALID_STATE, closing the refused input; a failed configure() leaves it unconfigured', async () => {
    const { enc } = setup();
    expect(enc.state).toBe('unconfigured');
    const item = new Item(1);
    expect(() => enc.encode(item)).toThrow(expect.objectContaining({ code: 'INVALID_STATE', message: 'TurnEncoder.encode() while unconfigured' }));
    expect(item.closed).toBe(true);
    await expect(enc.flush()).rejects.toMatchObject({ code: 'INVALID_STATE', message: 'TurnEncoder.flush() while unconfigured' });
    expect(() => enc.configure({ codec: 'nope' })).toThrow(expect.objectContaining({ code: 'ENCODER_FAILED' }));
    expect(enc.state).toBe('unconfigured');
    enc.configure({ codec: 'turn' });
    expect(enc.state).toBe('configured');
  });

  it('configure, encode, flush, close in order: the queue counts down with one ondequeue per input, flush resolves after every output', async () => {
    const { enc, errors, dequeues } = setup();
    enc.configure({ codec: 'turn' });
    const items = [1, 2, 3].map((n) => new Item(n));
    items.forEach((it, i) => enc.encode(it, { keyFrame: i === 0 }));
    expect(enc.encodeQueueSize).toBe(3);
    await enc.flush();
    expect(enc.out).toEqual(['1k', '2', '3']);
    expect(dequeues).toEqual([2, 1, 0]);
    expect(items.every((it) => it.closed)).toBe(true);
    // Encoding goes on after a flush, as in WebCodecs.
    enc.encode(new Item(4));
    await enc.flush();
    expect(enc.out).toEqual(['1k', '2', '3', '4']);
    enc.close();
    expect(enc.state).toBe('closed');
    expect(enc.log).toEqual(['open', 'drain', 'drain', 'release']);
    expect(errors).toEqual([]);
  });

  it('a failure is reported once, after the codec has closed: waiting flushes reject with it, queued inputs are closed, nothing is counted after', async () => {
    const { enc, errors, dequeues } = setup();
    enc.configure({ codec: 'turn' });
    enc.failOn = 2;
    const items = [1, 2, 3].map((n) => new Item(n));
    for (const it of items) enc.encode(it);
    const flushed = enc.flush();
    await expect(flushed).rejects.toMatchObject({ code: 'ENCODER_FAILED', message: 'turn codec: boom' });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(AvpipeError);
    expect(await flushed.catch((e: unknown) => e)).toBe(errors[0]);
    expect(enc.state).toBe('closed');
    expect(enc.out).toEqual(['1']);
    expect(dequeues).toEqual([2]);
    expect(enc.encodeQueueSize).toBe(0);
    expect(items.every((it) => it.closed)).toBe(true);
    enc.failAgain();
    await turn();
    expect(errors).toHaveLength(1);
    expect(enc.log).toEqual(['open', 'drain', 'release']);
  });

  it('close() is idempotent and resolves a waiting flush; afterwards every call is INVALID_STATE and inputs are still closed', async () => {
    const { enc, errors, dequeues } = setup();
    enc.configure({ codec: 'turn' });
    enc.encode(new Item(1));
    enc.encode(new Item(2));
    const flushed = enc.flush();
    enc.close();
    enc.close();
    await expect(flushed).resolves.toBeUndefined();
    await turn();
    expect(enc.log).toEqual(['open', 'drain', 'release']);
    expect(enc.out).toEqual([]);
    expect(dequeues).toEqual([]);
    expect(enc.encodeQueueSize).toBe(0);
    const late = new Item(3);
    expect(() => enc.encode(late)).toThrow(AvpipeError);
    expect(() => enc.encode(new Item(4))).toThrow(expect.objectContaining({ code: 'INVALID_STATE', message: 'TurnEncoder.encode() while closed' }));
    expect(late.closed).toBe(true);
    expect(() => enc.configure({ codec: 'turn' })).toThrow(expect.objectContaining({ code: 'INVALID_STATE', message: 'TurnEncoder is closed' }));
    await expect(enc.flush()).rejects.toMatchObject({ code: 'INVALID_STATE' });
    expect(errors).toEqual([]);
  });

  it('decoders share it: decode() and decodeQueueSize, failures with their own code', async () => {
    const errors: Error[] = [];
    const dec = new NowDecoder((e) => errors.push(e));
    const chunk = (timestamp: number, bytes: number): EncodedVideoChunk => new EncodedVideoChunk({ type: 'key', timestamp, data: new Uint8Array(bytes) });
    expect(() => dec.decode(chunk(0, 1))).toThrow(expect.objectContaining({ code: 'INVALID_STATE', message: 'VideoDecoder.decode() while unconfigured' }));
    dec.configure({ codec: 'x' });
    dec.decode(chunk(0, 1));
    dec.decode(chunk(1, 1));
    expect(dec.decodeQueueSize).toBe(0);
    await dec.flush();
    expect(dec.out).toEqual([0, 1]);
    dec.decode(chunk(2, 0));
    expect(errors).toMatchObject([{ code: 'SOURCE_FAILED', message: 'now decoder: empty chunk' }]);
    expect(dec.state).toBe('closed');
    expect(() => dec.decode(chunk(3, 1))).toThrow(expect.objectContaining({ code: 'INVALID_STATE' }));
  });
});
