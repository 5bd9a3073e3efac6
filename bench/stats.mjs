// Medians and paired ratios: shared by the benchmarks and the table made from their results (no side effects).

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

/** The median of the per-rep ratios a[i] / b[i] (the two measured in the same reps). */
export const pairedRatio = (a, b) => median(a.map((x, i) => x / b[i]));
