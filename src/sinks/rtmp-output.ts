import type { AudioDecoderConfig, EncodedOutput, VideoDecoderConfig } from '../media/encoded-chunk.js';
import { avcConfigFromAnnexB } from '../codecs/avc.js';
import type { StreamOutputSpec } from '../config/outputs.js';
import { DecodeClock } from '../muxers/decode-clock.js';
import { aacFrame, aacSequenceHeader, avcEndOfSequence, avcFrame, avcSequenceHeader } from '../muxers/flv.js';
import type { Microseconds } from '../time.js';
import type { OutputNode } from './output-node.js';
import { StreamStats, type StreamOutputResult } from './stream-stats.js';
import { RtmpClient } from './rtmp/rtmp-client.js';

/** How an RTMP output reconnects: backoff doubling from `firstDelayMs`, at most `maxRetries` times in a row. */
export interface RetryPolicy {
  maxRetries: number;
  firstDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 5, firstDelayMs: 500, maxDelayMs: 8000 };

/** FLV timestamps cannot be negative; B-frame decode times and audio priming start a little before 0. */
const TIMESTAMP_OFFSET_MS = 200;

/**
 * An RTMP(S) stream output: FLV tags for H.264 and AAC over avpipe's RTMP publisher. The connection
 * is made in the background, so a slow or dead server never holds the pipeline's start; until it is
 * up, the output's tee queue drops (live runs only). A dropped connection is retried with backoff,
 * and the stream resumes at the next keyframe after fresh sequence headers.
 */
export class RtmpOutput implements OutputNode<EncodedOutput, StreamOutputResult> {
  readonly spec: StreamOutputSpec;
  private readonly _stats = new StreamStats();
  readonly writable: WritableStream<EncodedOutput>;
  private readonly _retry: RetryPolicy;
  private readonly _meta: { width?: number; height?: number; fps?: number; videoBitrateKbps?: number; audioBitrateKbps?: number; sampleRate?: number; channels?: number };
  private _client: RtmpClient | undefined;
  private _connecting: RtmpClient | undefined;
  private readonly _clock = new DecodeClock<EncodedOutput>();
  /** The video comes with start codes (its config had no avcC, which is then built from its SPS/PPS). */
  private _annexB = false;
  private _lastConnectError: Error | undefined;
  private _ready: Promise<void> | undefined;
  private _configs: { video?: VideoDecoderConfig; audio?: AudioDecoderConfig } = {};
  private _headersSent = new Set<'video' | 'audio'>();
  private _needKey = true;
  private _retries = 0;
  private _failures = 0;
  private _closing = false;

  constructor(spec: StreamOutputSpec, meta: RtmpOutput['_meta'], retry: RetryPolicy = DEFAULT_RETRY) {
    this.spec = spec;
    this._meta = meta;
    this._retry = retry;
    this.writable = new WritableStream<EncodedOutput>({
      write: async (item) => {
        // Copied H.264 carries no DTS: the decode clock gives it one (encoded video has its encoder's).
        if (item.kind === 'video' && item.chunk.decodeTimestamp === null) {
          for (const f of this._clock.push(item, item.chunk.timestamp, item.chunk.duration ?? 0)) await this._write(f.item, f.dts);
        } else await this._write(item, item.chunk.decodeTimestamp ?? item.chunk.timestamp);
      },
      close: async () => {
        for (const f of this._clock.flush()) await this._write(f.item, f.dts);
      },
    });
  }

  get name(): string {
    return this.spec.url;
  }

  get bytes(): number {
    return this._stats.bytes;
  }

  /** Starts connecting; does not wait for the server. */
  async start(): Promise<void> {
    this._reconnect(0);
  }

  async finalize(): Promise<void> {
    this._closing = true;
    // A connection still being made (a dead or stalled server) is given up, not waited for.
    this._connecting?.destroy();
    if (this._client === undefined) this._stats.error ??= new Error(`the server never accepted the stream before the end of the run${this._lastConnectError === undefined ? '' : ` (last try: ${this._lastConnectError.message})`}`);
    const c = this._client;
    if (c !== undefined && this._ready !== undefined && (await this._ready.then(() => true, () => false))) {
      if (this._headersSent.has('video')) await c.sendMedia('video', this._ms(this._stats.lastUs), avcEndOfSequence()).catch(() => undefined);
      await c.close();
    }
    this._stats.endedAt = Date.now();
    const failure = this._stats.failure(this.spec.url);
    if (failure !== undefined) throw failure;
  }

  async discard(): Promise<void> {
    this._closing = true;
    this._connecting?.destroy();
    await this._client?.close();
  }

  mediaTime(): Microseconds | undefined {
    // A stream has no file to complete: it does not hold back the run's progress.
    return undefined;
  }

  result(): StreamOutputResult {
    return this._stats.result(this.spec.url, 'rtmp', this._retries);
  }

  /** Sends one item whose decode time (`dts`) is known. */
  private async _write(item: EncodedOutput, dts: Microseconds): Promise<void> {
    if (item.metadata.decoderConfig !== undefined) {
      (this._configs as Record<string, unknown>)[item.kind] = item.metadata.decoderConfig;
      this._headersSent.delete(item.kind);
    }
    if (this._stats.error !== undefined) throw this._stats.error;
    try {
      await this._ready;
    } catch {
      if (this._stats.error !== undefined) throw this._stats.error;
      return;
    }
    const client = this._client!;
    const { chunk } = item;
    if (item.kind === 'video') {
      // After a (re)connect the server gets nothing it cannot decode: wait for a keyframe.
      if (this._needKey && chunk.type !== 'key') return;
      this._needKey = false;
    }
    if (!this._headersSent.has(item.kind)) {
      // An encoder writing Annex B has no avcC: build it from the keyframe's SPS and PPS.
      const cfg = this._configs[item.kind];
      if (item.kind === 'video' && cfg !== undefined && cfg.description === undefined) {
        this._annexB = true;
        const avcc = avcConfigFromAnnexB(chunk.data);
        if (avcc !== undefined) this._configs.video = { ...(cfg as VideoDecoderConfig), description: avcc };
      }
      if (this._configs[item.kind]?.description === undefined) {
        this._stats.error = new Error(`no ${item.kind === 'video' ? 'avcC (SPS and PPS)' : 'AudioSpecificConfig'} to start the stream with`);
        throw this._stats.error;
      }
    }
    try {
      if (!this._headersSent.has(item.kind)) await this._sendHeader(client, item.kind);
      const body = item.kind === 'video' ? avcFrame(chunk, (chunk.timestamp - dts) / 1000, this._annexB) : aacFrame(chunk);
      await client.sendMedia(item.kind, this._ms(dts), body);
      this._stats.sent(body.byteLength, chunk.timestamp, chunk.timestamp + (chunk.duration ?? 0));
      this._failures = 0;
    } catch {
      // The connection dropped under this write: the drop handler reconnects; this item is lost.
    }
  }

  private _ms(us: Microseconds): number {
    return Math.max(0, Math.round(us / 1000) + TIMESTAMP_OFFSET_MS);
  }

  private async _sendHeader(client: RtmpClient, kind: 'video' | 'audio'): Promise<void> {
    const description = this._configs[kind]!.description!;
    await client.sendMedia(kind, 0, kind === 'video' ? avcSequenceHeader(description) : aacSequenceHeader(description));
    this._headersSent.add(kind);
  }

  /** (Re)connects after `delayMs`; gives up after too many failures in a row. */
  private _reconnect(delayMs: number): void {
    this._headersSent.clear();
    this._needKey = true;
    this._ready = (async () => {
      for (;;) {
        if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
        if (this._closing) throw new Error('closed');
        const client = new RtmpClient(this.spec.url, this.spec.ca);
        this._connecting = client;
        try {
          await client.connect();
          this._connecting = undefined;
        } catch (err) {
          this._connecting = undefined;
          if (this._closing) throw new Error('closed');
          this._lastConnectError = err as Error;
          this._failures++;
          if (this._failures > this._retry.maxRetries) {
            this._stats.error = new Error(`gave up after ${this._failures} failed connections: ${(err as Error).message}`);
            throw this._stats.error;
          }
          this._retries++;
          delayMs = Math.min(this._retry.maxDelayMs, this._retry.firstDelayMs * 2 ** (this._failures - 1));
          continue;
        }
        this._client = client;
        this._stats.startedAt ??= Date.now();
        client.onClose(() => {
          if (this._closing) return;
          this._retries++;
          this._failures++;
          this._reconnect(this._retry.firstDelayMs);
        });
        await client.sendMetadata({
          duration: 0, encoder: 'avpipe',
          ...(this._meta.width === undefined ? {} : { width: this._meta.width, height: this._meta.height, framerate: this._meta.fps, videocodecid: 7, videodatarate: this._meta.videoBitrateKbps }),
          ...(this._meta.sampleRate === undefined ? {} : { audiocodecid: 10, audiosamplerate: this._meta.sampleRate, stereo: this._meta.channels === 2, audiodatarate: this._meta.audioBitrateKbps }),
        });
        return;
      }
    })();
    this._ready.catch(() => undefined);
  }
}
