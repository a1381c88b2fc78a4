// The simulators live in src/demo (the local demo uses them too).
export * from '../../src/demo/sim-pool.js';
