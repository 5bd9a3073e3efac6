/**
 * The least-squares line through points: their means and the slope (undefined when every x is the
 * same). Callers keep their numbers small (relative to a point of their own) where precision matters.
 * Shared by the sender clock's fit and the audio drift measurement. @internal
 */
export function fitLine(points: readonly { x: number; y: number }[]): { mx: number; my: number; slope: number | undefined } {
  const n = points.length;
  let sx = 0;
  let sy = 0;
  for (const p of points) {
    sx += p.x;
    sy += p.y;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += (p.x - mx) ** 2;
    sxy += (p.x - mx) * (p.y - my);
  }
  return { mx, my, slope: sxx > 0 ? sxy / sxx : undefined };
}
