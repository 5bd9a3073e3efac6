import { expect } from 'vitest';
import { ConfigError, createPipelineConfig, type ConfigProblem, type PipelineConfigInit } from '../../src/index.js';

/** The problems creating a config from `init` reports (none when it is valid). */
export function problemsOf(init: PipelineConfigInit): ConfigProblem[] {
  try {
    createPipelineConfig(init);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  return [];
}
