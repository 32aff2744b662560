// Training with parameters, optimizer state and the update on the WebGPU device.
export { DeviceTrainer, deviceOptimizers, type DeviceTrainerSpec } from './device-trainer.js';
export { buildStepGraph, type StepGraph } from './step-graph.js';
export { DEVICE_RULES, deviceRefusal, type DeviceRule } from './update-rules.js';
export { runSession, createRunTrainer, syncTrainer, type RunTrainer } from './run-trainer.js';
