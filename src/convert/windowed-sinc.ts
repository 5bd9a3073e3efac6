/** Kaiser window shape of avpipe's sinc filters: about 80 dB of stopband. */
const KAISER_BETA = 8;

/**
 * One tap of a Kaiser-windowed sinc: the ideal interpolator at `x` samples from the centre, band
 * limited to `cutoff` of Nyquist, windowed over `halfWidth` samples each side. Shared by the rate
 * converter and the drift corrector. @internal
 */
export function windowedSinc(x: number, cutoff: number, halfWidth: number): number {
  return sinc(cutoff * x) * kaiser(x / halfWidth);
}

/** Float32 planes joined (the first copied). @internal */
export function concat(a: Float32Array, b: Float32Array): Float32Array {
  if (a.length === 0) return b.slice();
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = Math.PI * x;
  return Math.sin(px) / px;
}

/** The Kaiser window at `x` in [-1, 1]. */
function kaiser(x: number): number {
  if (Math.abs(x) >= 1) return 0;
  return besselI0(KAISER_BETA * Math.sqrt(1 - x * x)) / besselI0(KAISER_BETA);
}

/** The zeroth-order modified Bessel function of the first kind (its power series). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 30; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
  }
  return sum;
}
