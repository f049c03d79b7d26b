#!/usr/bin/env node
// int8 against fp32, tinyq against ONNX Runtime (onnxruntime-node, level basic), 1 thread, on the
// same machine in the same run. Per model: the fp32 file, ONNX Runtime's dynamic int8 file from
// the zoo (QOperator), and a static per-channel QDQ stand-in made by tinyq_make_static_qdq from
// the zoo's calibration set (bench/qdq_stand_in.h). Rounds interleave every runtime and file so
// that drift in this VM's speed hits all alike; each cell is the median over rounds of each
// round's median.
//
//   node bench/int8_compare.js [--zoo ../shared/zoo] [--build build] [--rounds 3] [--json OUT.json]
//
// Targets (issue 3): conv models int8 <= 0.5x tinyq fp32 for both int8 files; MLPs int8 no
// slower than fp32 at batch 1 and 4096.
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
const tinyq = path.join(build, 'tinyq');
const makeQdq = path.join(build, 'tinyq_make_static_qdq');
const ortBench = path.join(root, 'tools', 'ort-peer', 'bench.js');
const qdqDir = path.join(build, 'int8_bench');

const CASES = [
  { model: 'learned_filter_v1', batch: 1, conv: true },
  { model: 'nr_metric_v1', batch: 1, conv: true },
  { model: 'vmaf_tiny_v3', batch: 1 },
  { model: 'vmaf_tiny_v4', batch: 1 },
  { model: 'vmaf_tiny_v3', batch: 4096 },
  { model: 'vmaf_tiny_v4', batch: 4096 },
];

function runJson(cmd, cmdArgs) {
  const out = execFileSync(cmd, cmdArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  return JSON.parse(line);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// The static stand-in of a model, made once per build folder.
function staticFile(model) {
  const out = path.join(qdqDir, `${model}.static_qdq.onnx`);
  if (!fs.existsSync(out)) {
    fs.mkdirSync(qdqDir, { recursive: true });
    execFileSync(makeQdq, [path.join(zoo, 'models', `${model}.onnx`),
      path.join(zoo, 'fixtures', `${model}.calibration.npz`), out], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  return out;
}

const rows = [];
for (const c of CASES) {
  const files = {
    fp32: path.join(zoo, 'models', `${c.model}.onnx`),
    dynamic: path.join(zoo, 'models', `${c.model}.int8.onnx`),
  };
  if (c.conv) files.static = staticFile(c.model);
  const common = ['--batch', String(c.batch), '--threads', '1', '--json'];
  const samples = {};
  for (let r = 0; r < rounds; ++r) {
    for (const [kind, file] of Object.entries(files)) {
      const t = runJson(tinyq, ['bench', file, ...common]);
      const o = runJson('node', [ortBench, file, ...common, '--level', 'basic']);
      (samples[`tinyq_${kind}`] ||= []).push(t.median_us);
      (samples[`ort_${kind}`] ||= []).push(o.median_us);
    }
  }
  const row = { model: c.model, batch: c.batch };
  for (const [k, v] of Object.entries(samples)) row[`${k}_us`] = median(v);
  rows.push(row);
}

const f = (x) => (x === undefined ? '-' : x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toFixed(3));
const ratio = (a, b) => (a === undefined || b === undefined ? '-' : (a / b).toFixed(2));
console.log(`int8 vs fp32, tinyq vs onnxruntime-node (level basic), 1 thread, ${rounds} interleaved rounds; ` +
  'median us per run (per sample at batch > 1)');
console.log('| model | batch | tinyq fp32 | tinyq int8 dyn | tinyq int8 static | ORT fp32 | ORT int8 dyn | ' +
  'ORT int8 static | tinyq dyn/fp32 | tinyq static/fp32 |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const per = r.batch;
  const v = (k) => (r[k] === undefined ? undefined : r[k] / per);
  console.log(`| ${r.model} | ${r.batch} | ${f(v('tinyq_fp32_us'))} | ${f(v('tinyq_dynamic_us'))} | ` +
    `${f(v('tinyq_static_us'))} | ${f(v('ort_fp32_us'))} | ${f(v('ort_dynamic_us'))} | ${f(v('ort_static_us'))} | ` +
    `${ratio(r.tinyq_dynamic_us, r.tinyq_fp32_us)} | ${ratio(r.tinyq_static_us, r.tinyq_fp32_us)} |`);
}
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(rows, null, 2));
