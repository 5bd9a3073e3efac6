import { describe, expect, it } from 'vitest';
import { DecodeClock } from '../../src/muxers/decode-clock.js';

describe('DecodeClock', () => {
  it('gives B-frame streams rising decode times, never above presentation times', () => {
    // x264's pyramid in decode order: I0 P4 B2 b1 b3 P8 B6 b5 b7 ... (frame numbers are presentation order).
    const order = [0, 4, 2, 1, 3, 8, 6, 5, 7, 12, 10, 9, 11];
    const clock = new DecodeClock<number>(4);
    const out = order.flatMap((f) => clock.push(f, f * 1000, 1000));
    out.push(...clock.flush());
    expect(out.map((o) => o.item)).toEqual(order);
    expect(out.map((o) => o.dts)).toEqual(order.map((_, k) => (k - 4) * 1000));
    for (const o of out) expect(o.dts).toBeLessThanOrEqual(o.item * 1000);
  });
});
