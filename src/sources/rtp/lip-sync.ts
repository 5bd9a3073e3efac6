import type { Microseconds } from '../../time.js';
import { SenderClock } from './sender-clock.js';

/** An RTCP sender report's clock pair: the sender's NTP time and the RTP time of the same instant. */
export interface SenderReport {
  /** NTP seconds (the high word of the 64-bit NTP timestamp). */
  ntpSeconds: number;
  /** NTP fraction (the low word): units of 2^-32 s. */
  ntpFraction: number;
  rtpTimestamp: number;
}

/** A lip-sync core's counters, per track. */
export interface LipSyncTrackStats {
  /** RTCP sender reports received for the track. */
  senderReports: number;
  /** Reports left out of the clock fit (too far from it). */
  outliers: number;
  /** Steps of the sender's clock: runs of agreeing outliers the fit restarted from. */
  clockSteps: number;
  /**
   * The track's RTP clock against the sender's wall clock, parts per million (positive: fast), fitted
   * from its reports; null until they span 2 s (or the track has none). A phone's or a capture
   * card's audio clock is often some hundred ppm off: placing by every report keeps its times true.
   */
  clockPpm: number | null;
  /** How the track's RTP time was placed: from a sender report, or (none came in time) by arrival. */
  syncedBy: 'sender-report' | 'arrival' | null;
  /** Frames whose time had to be moved forward to keep the track's times increasing. */
  retimed: number;
  /** Frames from before the session's zero (a track that synced late), left out. */
  early: number;
  /** RTP timestamp jumps beyond `maxGapUs` that the arrival times do not show: re-anchored, never filled. */
  jumps: number;
  /** Where the first jump was, microseconds on the session timeline. */
  firstJumpUs: Microseconds | null;
}

/** A frame placed on the session timeline. */
export interface PlacedFrame<F> {
  track: number;
  frame: F;
  timestamp: Microseconds;
}

/** NTP seconds as a float, from an SR's two words (RFC 3550: the low word is a binary fraction). */
export function ntpToSeconds(sr: Pick<SenderReport, 'ntpSeconds' | 'ntpFraction'>): number {
  return sr.ntpSeconds + sr.ntpFraction / 2 ** 32;
}

interface TrackState<F> {
  clockRate: number;
  /** First RTP timestamp seen; RTP times are unwrapped relative to it. */
  firstRtp: number | undefined;
  lastExt: number;
  firstArrivalMs: number | undefined;
  /** The track's sender clock: its reports' fit, and where its frames are placed. */
  clock: SenderClock;
  /** RTP time (unwrapped) of the last frame placed. */
  lastPlacedExt: number | undefined;
  syncedBy: 'sender-report' | 'arrival' | null;
  pending: { frame: F; ext: number; arrivalMs: number }[];
  lastUs: Microseconds;
  lastArrivalMs: number | undefined;
  stats: { senderReports: number; retimed: number; early: number; jumps: number; firstJumpUs: Microseconds | null };
}

/**
 * The pure core of A/V sync (GStreamer's rtpbin ntp-sync): every track's RTP time is mapped to the
 * sender's NTP clock through its RTCP sender reports, so tracks with unrelated RTP clocks land on
 * one timeline. The first report anchors the track; every later one refines the mapping (a
 * {@link SenderClock} fit: the track's real tick rate, outliers left out) and the placement is
 * steered toward it without a jump, so a publisher whose audio clock drifts from its video clock
 * stays in sync for hours (the audio's samples are then fitted to its times by the graph). Frames wait until their track has a report (or `syncTimeoutMs` passed since its first
 * frame: it is then placed by arrival time, on the sender clock when another track gave the offset).
 * The session's zero is the earliest first frame of all tracks, decided once every track (every one
 * offered, see {@link LipSync.expectTracks}) is placed, or `syncTimeoutMs` after the first frame of any
 * (a track with nothing by then joins late: it starts later on the timeline). A track whose RTP time
 * jumps further than `maxGapUs` from what its packets' arrival shows (a sender's clock reset, a
 * hostile +30 min) is re-anchored where the arrival puts it.
 */
export class LipSync<F> {
  readonly syncTimeoutMs: number;
  /** A jump beyond this (microseconds) is a discontinuity. */
  maxGapUs: Microseconds = 10_000_000;
  private readonly _tracks: TrackState<F>[] = [];
  /** Sender clock minus receiver clock, seconds, from the first report. */
  private _offset: number | undefined;
  private _zero: number | undefined;
  private _firstArrivalMs: number | undefined;
  /** Tracks the zero waits for: those offered, some of which may not have sent a packet yet. */
  private _expected = 0;

  constructor(syncTimeoutMs: number) {
    this.syncTimeoutMs = syncTimeoutMs;
  }

  /** Adds a track of RTP clock rate `clockRate`; returns its index. */
  addTrack(clockRate: number): number {
    this._tracks.push({
      clockRate, firstRtp: undefined, lastExt: 0, firstArrivalMs: undefined, clock: new SenderClock(clockRate), lastPlacedExt: undefined, syncedBy: null,
      pending: [], lastUs: -1, lastArrivalMs: undefined, stats: { senderReports: 0, retimed: 0, early: 0, jumps: 0, firstJumpUs: null },
    });
    return this._tracks.length - 1;
  }

  /**
   * Tells how many tracks the session has (those offered): the zero then also waits, up to
   * `syncTimeoutMs` after the first frame, for a track not heard from yet. Without it, a video track
   * whose first packet came after audio was placed would have its first frames (its keyframe) before
   * the zero, left out.
   */
  expectTracks(count: number): void {
    this._expected = count;
  }

  /** Takes a frame of `track` with RTP time `rtpTimestamp`, arrived at `nowMs`; returns the frames now placed. */
  push(track: number, frame: F, rtpTimestamp: number, nowMs: number): PlacedFrame<F>[] {
    const t = this._track(track);
    t.firstRtp ??= rtpTimestamp;
    t.firstArrivalMs ??= nowMs;
    this._firstArrivalMs ??= nowMs;
    t.pending.push({ frame, ext: this._unwrap(t, rtpTimestamp), arrivalMs: nowMs });
    return this.release(nowMs);
  }

  /**
   * Takes a sender report of `track`, received at `nowMs`. The first one anchors the track; each
   * one refines its clock fit and steers the placement toward it. A track placed by arrival (its
   * reports came too late) keeps that placement: its reports then refine only its rate.
   */
  senderReport(track: number, sr: SenderReport, nowMs: number): PlacedFrame<F>[] {
    const t = this._track(track);
    t.stats.senderReports++;
    const seconds = ntpToSeconds(sr);
    this._offset ??= seconds - nowMs / 1000;
    // Reports may come before the first frame: unwrap against the report's own time then.
    t.firstRtp ??= sr.rtpTimestamp;
    const ext = this._unwrap(t, sr.rtpTimestamp, false);
    const wasAnchored = t.clock.anchored;
    t.clock.add(ext, seconds, t.lastPlacedExt);
    if (!wasAnchored && t.clock.anchored) t.syncedBy = 'sender-report';
    return this.release(nowMs);
  }

  /** Places what can be placed at `nowMs` (sync timeouts), in arrival order per track. */
  release(nowMs: number): PlacedFrame<F>[] {
    for (const t of this._tracks) {
      if (!t.clock.anchored && t.firstArrivalMs !== undefined && nowMs - t.firstArrivalMs >= this.syncTimeoutMs) {
        t.clock.placeAt(t.pending[0]?.ext ?? 0, t.firstArrivalMs / 1000 + (this._offset ?? 0));
        t.syncedBy = 'arrival';
      }
    }
    const withFrames = this._tracks.filter((t) => t.firstArrivalMs !== undefined);
    if (this._zero === undefined) {
      const waiting = withFrames.length < Math.max(this._tracks.length, this._expected) && nowMs - (this._firstArrivalMs ?? nowMs) < this.syncTimeoutMs;
      if (withFrames.length === 0 || waiting || withFrames.some((t) => !t.clock.anchored)) return [];
      this._zero = Math.min(...withFrames.map((t) => this._seconds(t, t.pending[0]?.ext ?? 0)));
    }
    const out: PlacedFrame<F>[] = [];
    this._tracks.forEach((t, track) => {
      if (!t.clock.anchored) return;
      for (const p of t.pending) {
        let us = Math.round((this._seconds(t, p.ext) - this._zero!) * 1e6);
        if (t.lastArrivalMs !== undefined && t.lastUs >= 0) {
          const expected = t.lastUs + Math.round((p.arrivalMs - t.lastArrivalMs) * 1000);
          if (Math.abs(us - expected) > this.maxGapUs) {
            // The track's RTP time moved where its arrival did not: re-anchor it so this frame lands
            // where it arrived, and every later one follows from there.
            t.clock.shift((expected - us) / 1e6);
            us = expected;
            t.stats.jumps++;
            t.stats.firstJumpUs ??= us;
          }
        }
        if (us < 0) {
          t.stats.early++;
          continue;
        }
        if (us <= t.lastUs) {
          us = t.lastUs + 1;
          t.stats.retimed++;
        }
        t.lastUs = us;
        t.lastArrivalMs = p.arrivalMs;
        t.lastPlacedExt = p.ext;
        out.push({ track, frame: p.frame, timestamp: us });
      }
      t.pending = [];
    });
    return out;
  }

  /** Per-track counters. */
  toJSON(): LipSyncTrackStats[] {
    return this._tracks.map((t) => ({ ...t.stats, outliers: t.clock.outlierCount, clockSteps: t.clock.steps, clockPpm: t.clock.ppm, syncedBy: t.syncedBy }));
  }

  private _seconds(t: TrackState<F>, ext: number): number {
    return t.clock.seconds(ext);
  }

  /** RTP time unwrapped (32-bit wrap) relative to the track's first; `advance` keeps the latest for the next unwrap. */
  private _unwrap(t: TrackState<F>, rtp: number, advance = true): number {
    const d = (rtp - t.firstRtp!) >>> 0;
    // The value of `d` modulo 2^32 nearest the last one: a wrap forwards, or a slightly older time.
    const ext = Math.round((t.lastExt - d) / 2 ** 32) * 2 ** 32 + d;
    if (advance) t.lastExt = Math.max(t.lastExt, ext);
    return ext;
  }

  private _track(i: number): TrackState<F> {
    const t = this._tracks[i];
    if (t === undefined) throw new RangeError(`no track ${i}`);
    return t;
  }
}
