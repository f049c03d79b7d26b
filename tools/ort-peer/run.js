#!/usr/bin/env node
'use strict';
// Runs a model with ONNX Runtime over a data set and saves its outputs, as `tinyq run` does:
//   node run.js MODEL.onnx --inputs IN.npz --save OUT.npz [--batch B] [--level basic|all] [--threads 1]
// Arrays named after model inputs are fed B rows at a time (default: one row at a time when the
// model's first dim is fixed, else all rows at once) and each output is concatenated on axis 0.

const { parseArgs } = require('util');
const npy = require('./npy');
const { ort, createSession, inputSpecs, positiveInt } = require('./session');

const USAGE = 'usage: node run.js MODEL.onnx --inputs IN.npz --save OUT.npz [--batch B] [--level basic|all] [--threads N]';

function sliceRows(arr, start, end) {
  const row = npy.numelOf(arr.shape.slice(1));
  return new ort.Tensor(arr.dtype, arr.data.slice(start * row, end * row), [end - start, ...arr.shape.slice(1)]);
}

// Joins per-run outputs on axis 0; a rank-0 output becomes one element per run.
function concatRows(name, parts) {
  const first = parts[0];
  const Ctor = npy.CTOR_OF[first.type];
  if (!Ctor) throw new Error(`output '${name}' has type ${first.type}, which npy cannot hold`);
  const rest = first.dims.length ? first.dims.slice(1) : [];
  let rows = 0;
  for (const p of parts) {
    if (p.type !== first.type || JSON.stringify(p.dims.slice(1)) !== JSON.stringify(rest) ||
        p.dims.length !== first.dims.length) {
      throw new Error(`output '${name}' changes shape between runs: [${first.dims}] vs [${p.dims}]`);
    }
    rows += p.dims.length ? p.dims[0] : 1;
  }
  const data = new Ctor(parts.reduce((n, p) => n + p.data.length, 0));
  let at = 0;
  for (const p of parts) {
    data.set(p.data, at);
    at += p.data.length;
  }
  return { dtype: first.type, shape: [rows, ...rest], data };
}

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      inputs: { type: 'string' },
      save: { type: 'string' },
      batch: { type: 'string' },
      level: { type: 'string', default: 'basic' },
      threads: { type: 'string', default: '1' },
    },
  });
  if (positionals.length !== 1 || !values.inputs || !values.save) throw new Error(USAGE);
  const model = positionals[0];
  const session = await createSession(model, { level: values.level, threads: positiveInt(values.threads, '--threads') });
  const specs = inputSpecs(session);
  const arrays = new Map(npy.readNpz(values.inputs));

  let rows = null;
  for (const spec of specs) {
    const arr = arrays.get(spec.name);
    if (!arr) throw new Error(`${values.inputs}: no array named after model input '${spec.name}'`);
    if (arr.dtype !== spec.type) {
      throw new Error(`${values.inputs}: array '${spec.name}' is ${arr.dtype}, the model wants ${spec.type}`);
    }
    if (arr.shape.length !== spec.shape.length) {
      throw new Error(`${values.inputs}: array '${spec.name}' has shape [${arr.shape}], the model wants [${spec.shape}]`);
    }
    if (rows !== null && arr.shape[0] !== rows) {
      throw new Error(`${values.inputs}: inputs disagree on the row count (${rows} vs ${arr.shape[0]} in '${spec.name}')`);
    }
    rows = arr.shape[0];
  }
  const dim0 = specs[0].shape[0];
  let batch;
  if (values.batch !== undefined) batch = positiveInt(values.batch, '--batch');
  else batch = typeof dim0 === 'number' ? dim0 : Math.max(rows, 1);
  if (typeof dim0 === 'number' && (batch !== dim0 || rows % dim0 !== 0)) {
    throw new Error(`model input '${specs[0].name}' has fixed first dim ${dim0}: cannot feed ${rows} rows ${batch} at a time`);
  }

  const outputs = new Map(session.outputNames.map((n) => [n, []]));
  const t0 = process.hrtime.bigint();
  let runs = 0;
  for (let start = 0; start < rows; start += batch) {
    const end = Math.min(rows, start + batch);
    const feeds = {};
    for (const spec of specs) feeds[spec.name] = sliceRows(arrays.get(spec.name), start, end);
    const result = await session.run(feeds);
    for (const name of session.outputNames) outputs.get(name).push(result[name]);
    runs++;
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (runs === 0) throw new Error(`${values.inputs}: no rows to run`);
  const saved = session.outputNames.map((n) => [n, concatRows(n, outputs.get(n))]);
  npy.writeNpz(values.save, saved);
  await session.release();
  const shapes = saved.map(([n, a]) => `${n} [${a.shape}]`).join(', ');
  process.stderr.write(`ort-peer: ${rows} rows in ${runs} runs of <= ${batch} (${ms.toFixed(1)} ms); saved ${shapes} to ${values.save}\n`);
}

main().catch((e) => {
  process.stderr.write(`run.js: ${e.message}\n`);
  process.exit(2);
});
