import type { CodecProvider } from '../codecs/codec-provider.js';
import { allowedCodecs } from '../config/outputs.js';
import { createPipelineConfig } from '../config/pipeline-config.js';
import type { PipelineConfigInit } from '../config/config-init.js';
import { AvpipeError } from '../errors.js';
import { createControllerWithSource, type Controller } from '../pipeline/controller.js';
import type { PipelineResult, PipelineStatus } from '../pipeline/status.js';
import { WebRtcSource, type WebRtcSourceOptions, type WebRtcSourceStats } from '../sources/webrtc/webrtc-source.js';
import { withDeadline } from './deadline.js';

/** How a host builds its sessions' sources and pipelines. */
export interface SessionHostOptions {
  iceHosts?: readonly string[];
  source?: Omit<WebRtcSourceOptions, 'name' | 'iceHosts' | 'codecs'>;
  codecProvider?: CodecProvider;
  /** Longest an offer may take to answer (ICE gathering, mostly); over it the open fails. Default 10000. */
  openTimeoutMs?: number;
}

/** A running session's pipeline status and source counters. */
export interface SessionStats {
  status: PipelineStatus | 'IDLE';
  source: WebRtcSourceStats;
}

/** A session's state as its host sees it. */
export interface HostedSession {
  source: WebRtcSource;
  controller: Controller;
  finished: Promise<PipelineResult>;
}

/**
 * Runs WHIP sessions in the thread it lives in: per session a {@link WebRtcSource} and a live pipeline.
 * The WHIP server uses one in its own thread, or one per worker thread so that sessions spread over
 * the machine's cores (a session's packets, depacketizing and muxing stay on its worker).
 */
export class SessionHost {
  private readonly _opts: SessionHostOptions;
  private readonly _sessions = new Map<string, HostedSession>();

  constructor(options: SessionHostOptions = {}) {
    this._opts = options;
  }

  /** Starts a session from a publisher's offer; resolves with the answer. `onEnd` is told its result. */
  async open(id: string, name: string, init: PipelineConfigInit, offer: string, onEnd: (result: PipelineResult, stats: WebRtcSourceStats) => void): Promise<string> {
    const config = createPipelineConfig(init);
    const source = new WebRtcSource({ ...this._opts.source, name, ...(this._opts.iceHosts === undefined ? {} : { iceHosts: this._opts.iceHosts }), codecs: codecPreference(config.outputs) });
    const controller = createControllerWithSource(config, source, this._opts.codecProvider === undefined ? {} : { codecProvider: this._opts.codecProvider });
    let answer: string;
    try {
      answer = await this._bounded(source.acceptOffer(offer), name, () => undefined);
    } catch (err) {
      await source.close();
      throw err;
    }
    const finished = controller.start();
    this._sessions.set(id, { source, controller, finished });
    void finished.then((result) => {
      this._sessions.delete(id);
      onEnd(result, source.toJSON());
    });
    return answer;
  }

  /** Whether session `id` waits for its publisher to come back (false once it is over). */
  waiting(id: string): boolean {
    return this._sessions.get(id)?.source.waitingForPublisher === true;
  }

  /**
   * A publisher that came back: its new offer resumes session `id`. An answer that takes too long is
   * given up as if that publisher had left again, so the session goes on waiting.
   */
  resume(id: string, offer: string): Promise<string> {
    const { source } = this._get(id);
    return this._bounded(source.acceptOffer(offer), source.name, () => void source.hangUp());
  }

  /** A trickled candidate for session `id`. */
  candidate(id: string, candidate: string, mid: string | undefined): Promise<void> {
    return this._get(id).source.addIceCandidate(candidate, mid);
  }

  /** The publisher ended session `id` (WHIP DELETE): the recording ends, whatever the leave policy. */
  hangUp(id: string): void {
    const s = this._sessions.get(id);
    if (s === undefined) return;
    // What the publisher sent before its DELETE is taken in first.
    void s.source.hangUp().then(() => s.controller.stop());
  }

  /**
   * Pauses or resumes session `id`'s recording (the paused time cut out of its outputs); false when
   * it already was, or is over. Throws INVALID_STATE while it is not ACTIVE (starting, or ending).
   */
  setPaused(id: string, paused: boolean): boolean {
    const s = this._sessions.get(id);
    if (s === undefined) return false;
    return paused ? s.controller.pause() : s.controller.resume();
  }

  /** Ends every session: gracefully, or with `abort` at once (what was muxed is still finalized). */
  stopAll(abort = false): void {
    for (const s of this._sessions.values()) void (abort ? s.controller.abort() : s.controller.stop());
  }

  /** Counters and status of session `id`, or undefined once it is over. */
  stats(id: string): SessionStats | undefined {
    const s = this._sessions.get(id);
    return s === undefined ? undefined : { status: s.controller.status, source: s.source.toJSON() };
  }

  /** Every running session's counters and status. */
  snapshot(): (SessionStats & { id: string })[] {
    return [...this._sessions.keys()].map((id) => ({ id, ...this.stats(id)! }));
  }

  /**
   * An answer within `openTimeoutMs`: ICE gathering waits on STUN/TURN servers, and a session that
   * never answers would hold its slot (and its publisher's request) for as long as they stay silent.
   */
  private _bounded(answer: Promise<string>, name: string, onLate: () => void): Promise<string> {
    const ms = this._opts.openTimeoutMs ?? 10_000;
    return withDeadline(answer, ms, () => {
      onLate();
      return new AvpipeError('SOURCE_FAILED', `${name}: the offer was not answered within ${ms} ms (ICE gathering)`);
    });
  }

  private _get(id: string): HostedSession {
    const s = this._sessions.get(id);
    if (s === undefined) throw new AvpipeError('INVALID_STATE', `no session ${id}`);
    return s;
  }
}

/** The source's codec order: what the outputs take without re-encoding first, then the rest. */
function codecPreference(outputs: Parameters<typeof allowedCodecs>[0]): { video: string[]; audio: string[] } {
  const allowed = allowedCodecs(outputs);
  const sdp: Record<string, string> = { h264: 'H264', vp8: 'VP8', vp9: 'VP9', opus: 'OPUS' };
  const first = (names: readonly string[], all: string[]): string[] => [...new Set([...names.map((n) => sdp[n]).filter((n): n is string => n !== undefined), ...all])];
  return { video: first(allowed?.video ?? [], ['VP8', 'H264', 'VP9']), audio: first(allowed?.audio ?? [], ['OPUS', 'PCMU', 'PCMA']) };
}
