#!/usr/bin/env node
// int8 against fp32, tinyq against ONNX Runtime (onnxruntime-node, level basic), 1 thread, on the
// same machine in the same run. Per model: the fp32 file; ONNX Runtime's dynamic int8 file from the
// zoo (QOperator: DynamicQuantizeLinear + ConvInteger/MatMulInteger); and two QDQ stand-ins made by
// tinyq_make_static_qdq in the format tinyq's quantiser writes (bench/qdq_stand_in.h: int8
// per-channel weights without zero points, fp32 biases, Q/DQ on the quantised ops' inputs only):
// static (u8 asymmetric activations calibrated on the zoo's calibration set) and dynamic
// (DynamicQuantizeLinear -> DequantizeLinear). Rounds interleave every runtime and file so that
// drift in this VM's speed hits all alike; each cell is the median over rounds of each round's
// median.
//
//   node bench/int8_compare.js [--zoo ../shared/zoo] [--build build] [--rounds 3] [--json OUT.json]
//                              [--models a,b] [--no-ort]
//
// Targets (issue 3): conv models int8 <= 0.5x tinyq fp32 for the dynamic and the static files;
// MLPs int8 no slower than fp32 at batch 1 and 4096.
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
function opt(name, def) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
}
const zoo = path.resolve(opt('--zoo', path.join(root, '..', 'shared', 'zoo')));
const build = path.resolve(opt('--build', path.join(root, 'build')));
const rounds = Number(opt('--rounds', '3'));
const jsonOut = opt('--json', '');
const only = opt('--models', '');
const withOrt = !args.includes('--no-ort');
const tinyq = path.join(build, 'tinyq');
const makeQdq = path.join(build, 'tinyq_make_static_qdq');
const ortBench = path.join(root, 'tools', 'ort-peer', 'bench.js');
const qdqDir = path.join(build, 'int8_bench');

const CASES = [
  { model: 'learned_filter_v1', batch: 1 },
  { model: 'nr_metric_v1', batch: 1 },
  { model: 'vmaf_tiny_v3', batch: 1 },
  { model: 'vmaf_tiny_v4', batch: 1 },
  { model: 'vmaf_tiny_v3', batch: 4096 },
  { model: 'vmaf_tiny_v4', batch: 4096 },
].filter((c) => !only || only.split(',').includes(c.model));

// The file kinds of each case, in table order.
const KINDS = ['fp32', 'dynamic', 'dynamic_qdq', 'static_qdq'];

function runJson(cmd, cmdArgs) {
  const out = execFileSync(cmd, cmdArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  return JSON.parse(line);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// A QDQ stand-in of a model (static: calibrated; dynamic), made once per build folder.
function standIn(model, dynamic) {
  const out = path.join(qdqDir, `${model}.qdq_${dynamic ? 'dynamic' : 'static'}.onnx`);
  if (!fs.existsSync(out)) {
    fs.mkdirSync(qdqDir, { recursive: true });
    const src = path.join(zoo, 'models', `${model}.onnx`);
    const how = dynamic ? ['--dynamic'] : [path.join(zoo, 'fixtures', `${model}.calibration.npz`)];
    execFileSync(makeQdq, [src, ...how, out], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return out;
}

const rows = [];
for (const c of CASES) {
  const files = {
    fp32: path.join(zoo, 'models', `${c.model}.onnx`),
    dynamic: path.join(zoo, 'models', `${c.model}.int8.onnx`),
    dynamic_qdq: standIn(c.model, true),
    static_qdq: standIn(c.model, false),
  };
  const common = ['--batch', String(c.batch), '--threads', '1', '--json'];
  const samples = {};
  for (let r = 0; r < rounds; ++r) {
    for (const kind of KINDS) {
      const t = runJson(tinyq, ['bench', files[kind], ...common]);
      (samples[`tinyq_${kind}`] ||= []).push(t.median_us);
      if (withOrt) {
        const o = runJson('node', [ortBench, files[kind], ...common, '--level', 'basic']);
        (samples[`ort_${kind}`] ||= []).push(o.median_us);
      }
    }
  }
  const row = { model: c.model, batch: c.batch };
  for (const [k, v] of Object.entries(samples)) row[`${k}_us`] = median(v);
  rows.push(row);
}

const f = (x) => (x === undefined ? '-' : x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toFixed(3));
const ratio = (a, b) => (a === undefined || b === undefined ? '-' : (a / b).toFixed(2));
console.log(`int8 vs fp32, tinyq vs onnxruntime-node (level basic), 1 thread, ${rounds} interleaved rounds; ` +
  'median us per run (per sample at batch > 1). dyn = the zoo\'s ORT-made QOperator file; dyn QDQ / ' +
  'static QDQ = the stand-ins in tinyq\'s quantiser format');
console.log('| model | batch | tinyq fp32 | tinyq dyn | tinyq dyn QDQ | tinyq static QDQ | ORT fp32 | ORT dyn | ' +
  'ORT dyn QDQ | ORT static QDQ | tinyq dyn/fp32 | dyn QDQ/fp32 | static QDQ/fp32 |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const v = (k) => (r[k] === undefined ? undefined : r[k] / r.batch);
  const cells = KINDS.map((k) => f(v(`tinyq_${k}_us`))).concat(KINDS.map((k) => f(v(`ort_${k}_us`))));
  const ratios = KINDS.slice(1).map((k) => ratio(r[`tinyq_${k}_us`], r.tinyq_fp32_us));
  console.log(`| ${r.model} | ${r.batch} | ${cells.join(' | ')} | ${ratios.join(' | ')} |`);
}
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(rows, null, 2));
