import { redactUrl } from '../config/redact.js';
import { AvpipeError } from '../errors.js';
import type { Microseconds } from '../time.js';

/** A stream output in a result. */
export interface StreamOutputResult {
  /** The kind of output: always `stream`. */
  type: 'stream';
  /** The server's URL, redacted: stream key, query values and password shown as `****`. */
  url: string;
  /** RTMP, or a WebSocket taking raw audio. */
  protocol: 'rtmp' | 'websocket';
  /** Reconnections after a dropped connection. */
  retries: number;
  /** Media packets (or audio buffers) sent. */
  packets: number;
  /** Bytes of those packets or buffers. */
  bytes: number;
  /** Media time sent, ms. */
  durationMs: number;
  /** Unix ms of the first connection; null when none was made. */
  startedAt: number | null;
  /** Unix ms of the output's end; null before it. */
  endedAt: number | null;
  /** Why the output gave up, or null. */
  error: string | null;
}

/** The counters every stream output keeps, and its result. @internal */
export class StreamStats {
  packets = 0;
  bytes = 0;
  firstUs: Microseconds | undefined;
  lastUs: Microseconds = 0;
  startedAt: number | null = null;
  endedAt: number | null = null;
  /** Why the output gave up; set once. */
  error: Error | undefined;

  /** Counts one message of `bytes` carrying media from `startUs` to `endUs`. */
  sent(bytes: number, startUs: Microseconds, endUs: Microseconds): void {
    this.packets++;
    this.bytes += bytes;
    this.firstUs ??= startUs;
    this.lastUs = Math.max(this.lastUs, endUs);
  }

  /** The non-fatal error finalize() reports for a stream that gave up, if it did; the URL redacted. */
  failure(url: string): AvpipeError | undefined {
    return this.error === undefined ? undefined : new AvpipeError('SINK_FAILED', `${redactUrl(url)}: ${this.error.message}`, { cause: this.error, fatal: false });
  }

  /** The output's entry in a result, its URL redacted (a stream key is a secret). */
  result(url: string, protocol: StreamOutputResult['protocol'], retries: number): StreamOutputResult {
    return {
      type: 'stream', url: redactUrl(url), protocol, retries, packets: this.packets, bytes: this.bytes,
      durationMs: this.firstUs === undefined ? 0 : (this.lastUs - this.firstUs) / 1000,
      startedAt: this.startedAt, endedAt: this.endedAt, error: this.error?.message ?? null,
    };
  }
}
