'use strict';
// What run.js and bench.js share: ONNX Runtime session setup and argument checks.

const ort = require('onnxruntime-node');

const LEVELS = ['basic', 'all'];

// Creates a single-device CPU session with the peer's fixed, comparable settings.
async function createSession(model, { level = 'basic', threads = 1 } = {}) {
  if (!LEVELS.includes(level)) throw new Error(`--level must be one of ${LEVELS.join('|')}, not '${level}'`);
  if (!Number.isInteger(threads) || threads < 1) throw new Error(`--threads must be a positive integer`);
  return ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: threads,
    executionMode: 'sequential',
    graphOptimizationLevel: level,
  });
}

// [{name, type, shape}] for the model's inputs; symbolic dims are strings.
function inputSpecs(session) {
  return session.inputMetadata.map((m) => {
    if (!m.isTensor) throw new Error(`input '${m.name}' is not a tensor`);
    return { name: m.name, type: m.type, shape: m.shape };
  });
}

function positiveInt(value, flag) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, not '${value}'`);
  return n;
}

function ortVersion() {
  return ort.env.versions.node || ort.env.versions.common;
}

module.exports = { ort, createSession, inputSpecs, positiveInt, ortVersion };
