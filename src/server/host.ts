import type { PipelineConfigInit } from '../config/config-init.js';
import type { PipelineResult } from '../pipeline/status.js';
import type { WebRtcSourceStats } from '../sources/webrtc/webrtc-source.js';
import { SessionHost, type SessionHostOptions, type SessionStats } from './session-host.js';

/** Told a session's result and its source's final counters once it is over. */
export type OnSessionEnd = (result: PipelineResult, stats: WebRtcSourceStats) => void;

/** Where sessions run: this thread ({@link LocalHost}), or a worker thread (./worker-host.ts). */
export interface Host {
  /** Sessions placed here, for choosing the least loaded. */
  load: number;
  open(id: string, name: string, init: PipelineConfigInit, offer: string, onEnd: OnSessionEnd): Promise<string>;
  waiting(id: string): Promise<boolean>;
  resume(id: string, offer: string): Promise<string>;
  candidate(id: string, candidate: string, mid: string | undefined): Promise<void>;
  hangUp(id: string): void;
  /** Pauses (cuts from the recording) or resumes session `id`; false when it already was, or is over. */
  setPaused(id: string, paused: boolean): Promise<boolean>;
  stopAll(abort?: boolean): void;
  stats(id: string): SessionStats | undefined;
  close(): Promise<void>;
}

/** Sessions in this thread. */
export class LocalHost implements Host {
  load = 0;
  private readonly _host: SessionHost;
  constructor(options: SessionHostOptions) {
    this._host = new SessionHost(options);
  }
  open(id: string, name: string, init: PipelineConfigInit, offer: string, onEnd: OnSessionEnd): Promise<string> {
    return this._host.open(id, name, init, offer, onEnd);
  }
  async waiting(id: string): Promise<boolean> {
    return this._host.waiting(id);
  }
  resume(id: string, offer: string): Promise<string> {
    return this._host.resume(id, offer);
  }
  candidate(id: string, candidate: string, mid: string | undefined): Promise<void> {
    return this._host.candidate(id, candidate, mid);
  }
  hangUp(id: string): void {
    this._host.hangUp(id);
  }
  async setPaused(id: string, paused: boolean): Promise<boolean> {
    return this._host.setPaused(id, paused);
  }
  stopAll(abort = false): void {
    this._host.stopAll(abort);
  }
  stats(id: string): SessionStats | undefined {
    return this._host.stats(id);
  }
  async close(): Promise<void> {}
}
