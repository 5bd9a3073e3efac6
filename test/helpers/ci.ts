/** Whether this run is CI's (`.ci/run` sets CI=true), where nothing may be skipped. */
export const IN_CI = process.env['CI'] === 'true' || process.env['CI'] === '1';
