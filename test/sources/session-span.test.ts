import { describe, expect, it } from 'vitest';
import { spanInputs } from '../../src/sources/session-span.js';

describe('a trimmed session as trimmed inputs', () => {
  it('leaves the inputs alone when the session is not trimmed', () => {
    const inputs = [{ path: 'a.mp4', offset: 1, start: 2 }];
    expect(spanInputs({ inputs })).toEqual(inputs);
  });

  it("moves each input's span and offset so that the session's start is 0, and its end the session's end", () => {
    // Session 2.5..6.5: a.mp4 at 0 gives its own 2.5..6.5; b.ogg at 3.25 (its own from 0.5) starts 0.75 in,
    // from its own 0.5 up to 0.5 + (6.5 - 3.25); c.wav at 1 (its own 0..1) ends before the session starts.
    expect(spanInputs({
      start: 2.5, end: 6.5,
      inputs: [{ path: 'a.mp4' }, { path: 'b.ogg', offset: 3.25, start: 0.5, route: 'right' }, { path: 'c.wav', offset: 1, end: 1 }, { path: 'd.wav', offset: 7 }],
    })).toEqual([
      { path: 'a.mp4', start: 2.5, end: 6.5 },
      { path: 'b.ogg', offset: 0.75, start: 0.5, end: 3.75, route: 'right' },
    ]);
    // An input starting before the session's start is cut from its own span's start.
    expect(spanInputs({ start: 2, inputs: [{ path: 'a.mp4', offset: 0.5, start: 1, end: 10 }] })).toEqual([{ path: 'a.mp4', start: 2.5, end: 10 }]);
  });

  it('refuses a span that leaves no input', () => {
    expect(() => spanInputs({ start: 5, end: 6, inputs: [{ path: 'a.mp4', offset: 6 }, { path: 'b.mp4', end: 2 }] })).toThrow(/no input has media between the session's start \(5 s\) and end \(6 s\)/);
  });
});
