import { describe, expect, it } from 'vitest';
import { PauseCuts } from '../../src/pipeline/pause-cuts.js';
import { frameTimestamp } from '../../src/time.js';

/** 30 fps slots: 0, 33333, 66667, 100000, ... */
const slot = (us: number): number => {
  let k = 0;
  while (frameTimestamp(k, 30) < us) k++;
  return frameTimestamp(k, 30);
};

describe('pause cuts', () => {
  it('cut from the next slot after the media seen to the next slot after the media seen at resume, later media moved back', () => {
    const cuts = new PauseCuts(slot);
    cuts.see(1_010_000);
    expect(cuts.pause(5)).toBe(true);
    expect(cuts.pause(6)).toBe(false);
    expect(cuts.paused).toBe(true);
    // While paused everything from the cut's start on goes; what lies before it stays where it is.
    expect(cuts.place(1_000_000)).toBe(1_000_000);
    expect(cuts.place(1_033_333)).toBeNull();
    expect(cuts.place(9_000_000)).toBeNull();
    cuts.see(2_500_000);
    expect(cuts.resume(7)).toBe(true);
    expect(cuts.resume(8)).toBe(false);
    // Cut 1.033333..2.5 s: 1.466667 s, 44 frames.
    expect(cuts.place(2_466_667)).toBeNull();
    expect(cuts.place(2_500_000)).toBe(1_033_333);
    expect(cuts.place(3_000_000)).toBe(1_533_333);
    expect(cuts.records()).toEqual([{ atMs: 1033.333, durationMs: 1466.667, pausedAt: 5, resumedAt: 7 }]);
  });

  it('splits audio across cuts, each kept piece with its shift', () => {
    const cuts = new PauseCuts((us) => us);
    cuts.see(100);
    cuts.pause(0);
    cuts.see(150);
    cuts.resume(0);
    cuts.see(300);
    cuts.pause(0);
    cuts.see(320);
    cuts.resume(0);
    expect(cuts.kept(0, 400)).toEqual([
      { fromUs: 0, toUs: 100, shiftUs: 0 },
      { fromUs: 150, toUs: 300, shiftUs: 50 },
      { fromUs: 320, toUs: 400, shiftUs: 70 },
    ]);
    expect(cuts.kept(110, 140)).toEqual([]);
    expect(cuts.records().map((r) => [r.atMs * 1000, r.durationMs * 1000])).toEqual([[100, 50], [250, 20]]);
  });
});
