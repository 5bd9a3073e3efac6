import { describe, expect, it } from 'vitest';
import { InterleaveGate } from '../../src/pipeline/interleave-gate.js';

describe('InterleaveGate', () => {
  it('holds a track that runs more than the window ahead of the slowest other one', () => {
    const g = new InterleaveGate(1_000_000);
    g.add('video');
    g.add('audio');
    expect(g.mayWrite('audio', 1_000_000)).toBe(true);
    expect(g.mayWrite('audio', 1_000_001)).toBe(false);
    g.advance('video', 500_000);
    expect(g.mayWrite('audio', 1_500_000)).toBe(true);
    expect(g.mayWrite('audio', 1_500_001)).toBe(false);
    g.advance('audio', 1_500_000);
    expect(g.mayWrite('video', 600_000)).toBe(true);
  });

  it('a finished track no longer holds the others', () => {
    const g = new InterleaveGate(1000);
    g.add('video');
    g.add('audio');
    expect(g.mayWrite('audio', 1e9)).toBe(false);
    g.remove('video');
    expect(g.mayWrite('audio', 1e9)).toBe(true);
  });

  it('an infinite window never holds anything', () => {
    const g = new InterleaveGate(Infinity);
    g.add('a');
    g.add('b');
    expect(g.mayWrite('a', 1e12)).toBe(true);
  });
});
