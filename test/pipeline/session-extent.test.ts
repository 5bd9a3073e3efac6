import { describe, expect, it } from 'vitest';
import { SessionExtent } from '../../src/pipeline/session-extent.js';

describe('SessionExtent: how far the media really reaches', () => {
  it('reaches the latest item end of any track, and settles when every opened track has ended', () => {
    const e = new SessionExtent();
    e.open('v');
    e.open('a');
    e.advance(40_000);
    e.advance(20_000);
    expect(e.toJSON()).toEqual({ reachUs: 40_000, settled: false });
    e.end('v');
    e.end('v');
    expect(e.settled).toBe(false);
    e.end('a');
    expect(e.toJSON()).toEqual({ reachUs: 40_000, settled: true });
  });

  it('a declared end counts only within the tolerance of the reach; far from the data it is a lie', () => {
    const e = new SessionExtent();
    e.open('v');
    e.advance(1_000_000);
    expect(e.endFor(1_400_000, 1_000_000)).toBe(1_400_000);
    expect(e.endFor(980_000, 1_000_000)).toBe(980_000);
    expect(e.endFor(36_000_000_000, 1_000_000)).toBe(1_000_000);
    expect(e.endFor(undefined, 1_000_000)).toBe(1_000_000);
  });

  it('while tracks run, a held track goes to the reach plus the slack it was given, never past the declared end', () => {
    const e = new SessionExtent();
    e.open('a');
    e.advance(3_000_000);
    expect(e.holdUntil(10_000_000, 0, 1_000_000)).toBe(3_000_000);
    expect(e.holdUntil(10_000_000, 200_000, 1_000_000)).toBe(3_200_000);
    expect(e.holdUntil(3_100_000, 200_000, 1_000_000)).toBe(3_100_000);
    expect(e.holdUntil(undefined, 200_000, 1_000_000)).toBe(3_200_000);
    e.end('a');
    expect(e.holdUntil(36_000_000_000, 200_000, 1_000_000)).toBe(3_000_000);
  });

  it('wakes a waiter when the reach grows, when it settles, when the track is waited for, and on close', async () => {
    const e = new SessionExtent();
    e.open('a');
    const order: string[] = [];
    const grown = e.changedFor('video').then(() => order.push('grown'));
    e.advance(0);
    await Promise.resolve();
    expect(order).toEqual([]);
    e.advance(10);
    await grown;
    const wanted = e.changedFor('video').then(() => order.push('wanted'));
    e.waitedFor('audio', true);
    await Promise.resolve();
    expect(order).toEqual(['grown']);
    e.waitedFor('video', true);
    await wanted;
    expect(e.isWaitedFor('video')).toBe(true);
    await e.changedFor('video');
    e.waitedFor('video', false);
    const closed = e.changedFor('video').then(() => order.push('closed'));
    e.close();
    await closed;
    expect(order).toEqual(['grown', 'wanted', 'closed']);
    e.open('late');
    expect(e.settled).toBe(true);
  });
});
