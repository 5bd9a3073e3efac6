import type { PipelineProgress } from '../pipeline/status.js';

/** One line of progress for a terminal: bar and ETA (when the duration is known), media time, speed, drops. */
export function formatProgress(p: PipelineProgress, width = 30): string {
  const totalMs = p.totalMs ?? undefined;
  const secs = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;
  const speed = `${p.speed.toFixed(2)}x`;
  const drops = p.dropped > 0 ? ` drops ${p.dropped}` : '';
  if (totalMs === undefined || totalMs <= 0) return `${p.paused ? 'PAUSED' : p.status} ${secs(p.mediaTimeMs)} ${speed}${drops}`;
  const frac = Math.min(1, p.mediaTimeMs / totalMs);
  const filled = Math.round(frac * width);
  const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
  const eta = p.paused ? ' PAUSED' : p.speed > 0 && frac < 1 ? ` ETA ${secs((totalMs - p.mediaTimeMs) / p.speed)}` : '';
  return `[${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${secs(p.mediaTimeMs)}/${secs(totalMs)} ${speed}${eta}${drops}`;
}
