import { describe, expect, it } from 'vitest';
import { createPipelineConfig } from '../../src/index.js';
import { Admission } from '../../src/jobs/admission.js';
import { estimateJobCost } from '../../src/jobs/job-cost.js';

const GiB = 2 ** 30;
const idle = { cpuCores: 0, availableMemoryBytes: 8 * GiB };
const cost = (cpu: number, memoryBytes = 100 * 2 ** 20) => ({ cpu, memoryBytes });

describe('admission: a worker takes a job only while the projected load plus its cost stays within --max-cpu', () => {
  it('reserves each admitted job\'s cost and refuses the one that would pass the capacity, naming the figures', () => {
    const a = new Admission(2, 0.8);
    expect(a.capacity).toBeCloseTo(1.6);
    expect(a.decide('1', cost(0.65), idle)).toEqual({ admit: true });
    expect(a.decide('2', cost(0.65), idle)).toEqual({ admit: true });
    expect(a.reservedCpu).toBeCloseTo(1.3);
    expect(a.hasRoom(idle)).toBe(true);
    const no = a.decide('3', cost(0.65), idle);
    expect(no).toEqual({ admit: false, reason: 'costs 0.65 cores; 1.30 of 1.60 in use' });
    // Exactly full is admitted: the bound is "within".
    expect(a.decide('4', cost(0.3), idle)).toEqual({ admit: true });
    expect(a.hasRoom(idle)).toBe(false);
    expect([a.admitted, a.refused, a.running]).toEqual([3, 1, 3]);
    a.release('1');
    expect(a.reservedCpu).toBeCloseTo(0.95);
    expect(a.decide('3', cost(0.65), idle)).toEqual({ admit: true });
  });

  it('weighs the measured load when it is more than what is reserved (a job costing more than its estimate)', () => {
    const a = new Admission(2, 0.8);
    a.decide('1', cost(0.3), idle);
    const busy = { cpuCores: 1.2, availableMemoryBytes: 8 * GiB };
    expect(a.projectedCpu(busy)).toBe(1.2);
    expect(a.decide('2', cost(0.5), busy)).toMatchObject({ admit: false });
    expect(a.decide('2', cost(0.4), busy)).toEqual({ admit: true });
  });

  it('an idle worker takes a job bigger than itself (it runs alone rather than never), but never one whose memory does not fit', () => {
    const a = new Admission(2, 0.5);
    expect(a.decide('export', cost(2), idle)).toEqual({ admit: true });
    expect(a.decide('small', cost(0.1), idle)).toMatchObject({ admit: false });
    a.release('export');
    const tight = { cpuCores: 0, availableMemoryBytes: 600 * 2 ** 20 };
    expect(a.decide('big', cost(0.1, 200 * 2 ** 20), tight)).toEqual({ admit: false, reason: 'needs 200 MiB of memory, 88 MiB free beyond the 512 MiB headroom' });
    expect(a.decide('fits', cost(0.1, 80 * 2 ** 20), tight)).toEqual({ admit: true });
  });

  it('refuses a max-cpu outside (0, 1]', () => {
    expect(() => new Admission(2, 0)).toThrow(RangeError);
    expect(() => new Admission(2, 1.5)).toThrow(RangeError);
  });
});

describe('a job\'s cost, estimated from its config', () => {
  const live = (encoding: object, extra: object = {}) => estimateJobCost(createPipelineConfig({ live: true, source: { type: 'test' }, encoding, outputs: [{ path: 'x.mp4' }], ...extra }), 2);
  it('a live run follows the pixels it encodes per second and its codec (the measured figures)', () => {
    const p720 = live({ width: 1280, height: 720, fps: 30 });
    expect(p720.cpu).toBeCloseTo(0.32, 1);
    expect(live({ width: 1920, height: 1080, fps: 30 }).cpu).toBeCloseTo(0.65, 1);
    expect(live({ width: 1280, height: 720, fps: 60 }).cpu).toBeGreaterThan(p720.cpu * 1.7);
    expect(estimateJobCost(createPipelineConfig({ live: true, source: { type: 'test' }, encoding: { videoCodec: 'vp8' }, outputs: [{ path: 'x.webm' }] }), 2).cpu).toBeCloseTo(0.56, 1);
    expect(live({ width: 1280, height: 720 }, { codecProvider: 'wasm' }).cpu).toBeGreaterThan(p720.cpu * 3);
    expect(live({ videoCodec: null }).cpu).toBeLessThan(0.1);
    expect(live({ width: 1920, height: 1080 }).memoryBytes).toBeGreaterThan(p720.memoryBytes);
  });
  it('a non-live run takes the cores it is given: its threads; a copy is bound by the disk', () => {
    const replay = (extra: object) => estimateJobCost(createPipelineConfig({ live: false, source: { type: 'file', inputs: [{ path: 'in.mp4' }] }, outputs: [{ path: 'x.mp4' }], ...extra }), 2);
    expect(replay({}).cpu).toBe(2);
    expect(replay({ parallel: 1 }).cpu).toBe(1);
    expect(replay({ parallel: 8 }).cpu).toBe(2);
    expect(replay({ codecMode: 'copy' }).cpu).toBe(0.5);
  });
});
