import { rootCertificates } from 'node:tls';
import WebSocket from 'ws';
import type { AudioData } from '../media/audio-data.js';
import type { StreamOutputSpec } from '../config/outputs.js';
import type { Microseconds } from '../time.js';
import type { OutputNode } from './output-node.js';
import { StreamStats, type StreamOutputResult } from './stream-stats.js';

/** Above this many unsent bytes (about a second of audio) a write waits: the output's queue drops instead. */
const MAX_BUFFERED = 192_000;
const PING_MS = 30_000;

/** Interleaves f32 planar audio into S16LE (clamped), duplicating a mono plane into both channels. */
export function toS16Interleaved(data: AudioData, channels: number): Uint8Array {
  const planes = data.planes();
  const n = data.numberOfFrames;
  const out = Buffer.alloc(n * channels * 2);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < channels; c++) {
      const v = (planes[Math.min(c, planes.length - 1)]!)[i]!;
      out.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v * 32767))), (i * channels + c) * 2);
    }
  }
  return out;
}

/**
 * egress's WebSocket output: raw PCM (S16LE, interleaved, 48 kHz stereo) as binary messages, with
 * `Content-Type: audio/x-raw` on the upgrade request, `{"muted": ...}` text messages when the audio
 * is muted or unmuted, a ping every 30 s, and a normal close at the end. Live runs only.
 */
export class WebSocketOutput implements OutputNode<AudioData, StreamOutputResult> {
  readonly spec: StreamOutputSpec;
  private readonly _stats = new StreamStats();
  readonly writable: WritableStream<AudioData>;
  private _ws: WebSocket | undefined;
  private _open: Promise<void> | undefined;
  private _ping: NodeJS.Timeout | undefined;
  private _muted: boolean | undefined;

  constructor(spec: StreamOutputSpec) {
    this.spec = spec;
    this.writable = new WritableStream<AudioData>({
      write: async (data) => {
        try {
          await this._send(data);
        } finally {
          data.close();
        }
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
    const ws = new WebSocket(this.spec.url, { headers: { 'Content-Type': 'audio/x-raw' }, ...(this.spec.ca === undefined ? {} : { ca: [...rootCertificates, Buffer.from(this.spec.ca).toString()] }) });
    this._ws = ws;
    this._open = new Promise<void>((resolve, reject) => {
      ws.once('open', () => {
        this._stats.startedAt = Date.now();
        this._ping = setInterval(() => ws.ping(), PING_MS);
        this._ping.unref();
        resolve();
      });
      ws.once('error', (err) => {
        this._stats.error ??= err;
        reject(err);
      });
      ws.once('close', (code) => {
        if (this._stats.endedAt === null) this._stats.error ??= new Error(`the server closed the connection (${code})`);
        reject(this._stats.error);
      });
    });
    this._open.catch(() => undefined);
  }

  /** Tells the server the audio is muted or not (sent once per change). */
  setMuted(muted: boolean): void {
    if (this._muted === muted) return;
    this._muted = muted;
    if (this._ws?.readyState === WebSocket.OPEN) this._ws.send(JSON.stringify({ muted }));
  }

  async finalize(): Promise<void> {
    this._stats.endedAt = Date.now();
    if (this._ping !== undefined) clearInterval(this._ping);
    const ws = this._ws;
    if (ws !== undefined && ws.readyState === WebSocket.OPEN) {
      await new Promise<void>((resolve) => {
        ws.once('close', () => resolve());
        ws.close(1000, 'end of stream');
        setTimeout(resolve, 2000).unref();
      });
    } else ws?.terminate();
    const failure = this._stats.failure(this.spec.url);
    if (failure !== undefined) throw failure;
  }

  async discard(): Promise<void> {
    this._stats.endedAt = Date.now();
    if (this._ping !== undefined) clearInterval(this._ping);
    this._ws?.terminate();
  }

  mediaTime(): Microseconds | undefined {
    return undefined;
  }

  result(): StreamOutputResult {
    return this._stats.result(this.spec.url, 'websocket', 0);
  }

  private async _send(data: AudioData): Promise<void> {
    await this._open;
    const ws = this._ws!;
    while (ws.bufferedAmount > MAX_BUFFERED && ws.readyState === WebSocket.OPEN) await new Promise((r) => setTimeout(r, 10));
    if (ws.readyState !== WebSocket.OPEN) throw this._stats.error ?? new Error('the connection is closed');
    if (this._muted === undefined) this.setMuted(false);
    const pcm = toS16Interleaved(data, 2);
    await new Promise<void>((resolve, reject) => ws.send(pcm, { binary: true }, (err) => (err === undefined || err === null ? resolve() : reject(err))));
    this._stats.sent(pcm.byteLength, data.timestamp, data.timestamp + data.duration);
  }
}
