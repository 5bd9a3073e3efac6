import { describe, expect, it } from 'vitest';
import { DISCONNECT_GRACE_MS, LEAVE_DRAIN_MAX_MS, LEAVE_QUIET_MS, Presence, type PresenceOptions } from '../../src/sources/webrtc/presence.js';

const presence = (options: Partial<PresenceOptions> = {}): Presence => new Presence({ onLeave: 'end', leaveTimeoutMs: 30_000, mediaTimeoutMs: 10_000, ...options });
const NOTHING = { drained: false, end: false };

describe('Presence (a publisher leaving and coming back, no network)', () => {
  it("a hang-up: drained once the socket was quiet for 250 ms, then (onLeave 'end') the run ends", () => {
    const p = presence();
    expect(p.state).toBe('idle');
    p.offer(0);
    p.heard(1000);
    expect(p.leave('the publisher hung up', 1000)).toBe(true);
    expect(p).toMatchObject({ state: 'leaving', connected: true, leftBecause: 'the publisher hung up', sessions: 1 });
    // Packets still drain from the socket: the quiet counts from the last one.
    p.heard(1100);
    expect(p.tick(1100 + LEAVE_QUIET_MS - 1, true)).toEqual(NOTHING);
    expect(p.tick(1100 + LEAVE_QUIET_MS, true)).toEqual({ drained: true, end: true });
    expect(p).toMatchObject({ state: 'ended', connected: false });
    expect(p.leave('again', 2000)).toBe(false);
  });

  it('a publisher that never stops sending while it leaves is drained after 2 s in all', () => {
    const p = presence();
    p.offer(0);
    p.leave('ICE failed', 0);
    for (let t = 20; t < LEAVE_DRAIN_MAX_MS; t += 20) {
      p.heard(t);
      expect(p.tick(t, true)).toEqual(NOTHING);
    }
    p.heard(LEAVE_DRAIN_MAX_MS);
    expect(p.tick(LEAVE_DRAIN_MAX_MS, true)).toEqual({ drained: true, end: true });
  });

  it("onLeave 'wait': away until a new offer (a second session), or ended after leaveTimeoutMs; a failed offer keeps the deadline", () => {
    const p = presence({ onLeave: 'wait', leaveTimeoutMs: 5000 });
    p.offer(0);
    p.leave('the publisher hung up', 1000);
    expect(p.tick(1000, true)).toEqual({ drained: true, end: false });
    expect(p).toMatchObject({ state: 'away', connected: false });
    // A returning publisher whose offer fails: still away, the wait counted from the leave.
    p.offer(3000);
    expect(p).toMatchObject({ state: 'connected', sessions: 2, leftBecause: null });
    p.offerFailed();
    expect(p.state).toBe('away');
    expect(p.tick(5999, true)).toEqual(NOTHING);
    expect(p.tick(6000, true)).toEqual({ drained: false, end: true });
    expect(p.state).toBe('ended');
  });

  it("onLeave 'wait' before the run recorded anything (canWait false): the run ends", () => {
    const p = presence({ onLeave: 'wait' });
    p.offer(0);
    p.connectionState('closed', 500);
    expect(p.leftBecause).toBe('the peer connection closed');
    expect(p.tick(500, false)).toEqual({ drained: true, end: true });
  });

  it('gone without a word: no media for mediaTimeoutMs, or ICE disconnected for 3 s (a reconnect in time cancels it)', () => {
    const silent = presence({ mediaTimeoutMs: 2000 });
    silent.offer(0);
    silent.heard(100);
    expect(silent.tick(2100, true)).toEqual(NOTHING);
    expect(silent.tick(2101, true)).toEqual({ drained: true, end: true });
    expect(silent.leftBecause).toBe('no media for 2000 ms');

    const p = presence();
    p.offer(0);
    p.connectionState('disconnected', 1000);
    p.heard(1500);
    p.connectionState('connected', 2000);
    expect(p.tick(1000 + DISCONNECT_GRACE_MS, true)).toEqual(NOTHING);
    p.connectionState('disconnected', 5000);
    p.heard(5000);
    expect(p.tick(5000 + DISCONNECT_GRACE_MS - 1, true)).toEqual(NOTHING);
    expect(p.tick(5000 + DISCONNECT_GRACE_MS, true)).toEqual({ drained: true, end: true });
    expect(p.leftBecause).toBe('the publisher disconnected');
  });

  it('an offer while a publisher is connected is refused; end() ends it whatever its state', () => {
    const p = presence();
    p.offer(0);
    expect(() => p.offer(1)).toThrow(/an offer while connected/);
    p.end();
    expect(p.state).toBe('ended');
    expect(p.tick(100_000, true)).toEqual(NOTHING);
  });
});
