import { createController, createPipelineConfig, type ControllerOptions, type PipelineConfigInit, type PipelineResult } from '../../src/index.js';

/** Builds a config, runs it to the end with the test source, and returns the result. */
export async function record(init: PipelineConfigInit, options?: ControllerOptions): Promise<PipelineResult> {
  return createController(createPipelineConfig(init), options).start();
}
