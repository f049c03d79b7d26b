#!/usr/bin/env node
'use strict';
// Times ONNX Runtime's session.run on one batch, as `tinyq bench` does, and prints the same keys:
//   node bench.js MODEL.onnx [--inputs IN.npz] [--batch N] [--iters N] [--warmup N]
//                 [--level basic|all] [--threads 1] [--json]
// With --inputs, the first N rows of each input array are fed (rows repeat to fill N); without,
// inputs are uniform [0,1) floats from a fixed seed, the symbolic first dim set to N.

const { parseArgs } = require('util');
const npy = require('./npy');
const { ort, createSession, inputSpecs, positiveInt, ortVersion } = require('./session');

const USAGE = 'usage: node bench.js MODEL.onnx [--inputs IN.npz] [--batch N] [--iters N] [--warmup N] ' +
  '[--level basic|all] [--threads N] [--json]';
const DEFAULT_ITERS = 100;
const DEFAULT_WARMUP = 10;
const SYNTH_SEED = 0x5eed; // fixed so every run times the same numbers

// mulberry32: a tiny seeded generator, uniform in [0, 1).
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// The declared shape with the first dim fixed to `batch`; other symbolic dims cannot be guessed.
function concreteShape(spec, batch) {
  return spec.shape.map((d, i) => {
    if (typeof d === 'number') return i === 0 && d !== batch ? null : d;
    if (i === 0) return batch;
    throw new Error(`input '${spec.name}' has symbolic dim '${d}' at axis ${i}; pass --inputs`);
  });
}

function synthInput(spec, batch, next) {
  const shape = concreteShape(spec, batch);
  if (shape.includes(null)) throw new Error(`input '${spec.name}' has fixed first dim ${spec.shape[0]}, not --batch ${batch}`);
  const Ctor = { float32: Float32Array, float64: Float64Array }[spec.type];
  if (!Ctor) throw new Error(`input '${spec.name}' is ${spec.type}; only float inputs can be synthesised, pass --inputs`);
  const data = new Ctor(npy.numelOf(shape));
  for (let i = 0; i < data.length; i++) data[i] = next();
  return new ort.Tensor(spec.type, data, shape);
}

// The first `batch` rows of the array, cycling through its rows when it has fewer.
function rowsInput(spec, arr, batch, file) {
  if (!arr) throw new Error(`${file}: no array named after model input '${spec.name}'`);
  if (arr.dtype !== spec.type) throw new Error(`${file}: array '${spec.name}' is ${arr.dtype}, the model wants ${spec.type}`);
  if (arr.shape.length !== spec.shape.length || arr.shape[0] === 0) {
    throw new Error(`${file}: array '${spec.name}' has shape [${arr.shape}], the model wants [${spec.shape}]`);
  }
  const shape = [batch, ...arr.shape.slice(1)];
  if (concreteShape(spec, batch).includes(null)) {
    throw new Error(`input '${spec.name}' has fixed first dim ${spec.shape[0]}, not --batch ${batch}`);
  }
  const row = npy.numelOf(arr.shape.slice(1));
  const data = new arr.data.constructor(batch * row);
  for (let r = 0; r < batch; r++) {
    const src = r % arr.shape[0];
    data.set(arr.data.subarray(src * row, (src + 1) * row), r * row);
  }
  return new ort.Tensor(spec.type, data, shape);
}

// Linear-interpolated quantile of sorted values (numpy's default method).
function quantile(sorted, q) {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

const round3 = (x) => Math.round(x * 1000) / 1000;

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      inputs: { type: 'string' },
      batch: { type: 'string' },
      iters: { type: 'string', default: String(DEFAULT_ITERS) },
      warmup: { type: 'string', default: String(DEFAULT_WARMUP) },
      level: { type: 'string', default: 'basic' },
      threads: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
    },
  });
  if (positionals.length !== 1) throw new Error(USAGE);
  const model = positionals[0];
  const threads = positiveInt(values.threads, '--threads');
  const iters = positiveInt(values.iters, '--iters');
  const warmup = values.warmup === '0' ? 0 : positiveInt(values.warmup, '--warmup');
  const session = await createSession(model, { level: values.level, threads });
  const specs = inputSpecs(session);
  const dim0 = specs[0].shape[0];
  const batch = values.batch !== undefined ? positiveInt(values.batch, '--batch') : typeof dim0 === 'number' ? dim0 : 1;

  const feeds = {};
  if (values.inputs) {
    const arrays = new Map(npy.readNpz(values.inputs));
    for (const spec of specs) feeds[spec.name] = rowsInput(spec, arrays.get(spec.name), batch, values.inputs);
  } else {
    const next = rng(SYNTH_SEED);
    for (const spec of specs) feeds[spec.name] = synthInput(spec, batch, next);
  }

  for (let i = 0; i < warmup; i++) await session.run(feeds);
  const us = new Float64Array(iters);
  for (let i = 0; i < iters; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    us[i] = Number(process.hrtime.bigint() - t0) / 1e3;
  }
  await session.release();
  us.sort();
  const median = quantile(us, 0.5);
  const p10 = quantile(us, 0.1);
  const report = {
    runtime: 'onnxruntime-node',
    version: ortVersion(),
    model,
    median_us: round3(median),
    p10_us: round3(p10),
    batch,
    median_us_per_sample: round3(median / batch),
    p10_us_per_sample: round3(p10 / batch),
    threads,
    iters,
    warmup,
    level: values.level,
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    process.stdout.write(`${model}: onnxruntime-node ${report.version}, level ${values.level}, ${threads} thread(s), ` +
      `batch ${batch}: median ${report.median_us} us (p10 ${report.p10_us} us), ` +
      `${report.median_us_per_sample} us/sample over ${iters} runs\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`bench.js: ${e.message}\n`);
  process.exit(2);
});
