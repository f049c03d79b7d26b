#!/usr/bin/env node
// Side-by-side latency of tinyq and ONNX Runtime (onnxruntime-node, the reference peer) on the
// same machine, in the same run, 1 thread, at ORT's graph optimisation levels basic and all. Rounds interleave the two runtimes so that drift in
// this VM's speed hits both alike; each cell is the median over rounds of each round's median.
//
//   node bench/compare.js [--models DIR] [--tinyq build/tinyq] [--rounds 3] [--json OUT.json]
//
// ONNX Runtime through Node costs ~12-15 us per run in binding overhead, so batch-1 numbers of the
// tiny MLPs measure that floor, not ORT's kernels; the batch-4096 rows compare the kernels.
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
const modelsDir = path.resolve(opt('--models', path.join(root, 'models')));
const tinyq = path.resolve(opt('--tinyq', path.join(root, 'build', 'tinyq')));
const rounds = Number(opt('--rounds', '3'));
const jsonOut = opt('--json', '');
const ortBench = path.join(root, 'tools', 'ort-peer', 'bench.js');

// The speed targets: ratio = tinyq / ORT.
const CASES = [
  { model: 'learned_filter_v1', batch: 1, target: 'median <= 0.8x ORT' },
  { model: 'nr_metric_v1', batch: 1, target: 'median <= 0.8x ORT' },
  { model: 'vmaf_tiny_v2', batch: 1, target: '< 2 us' },
  { model: 'vmaf_tiny_v3', batch: 1, target: '< 2 us' },
  { model: 'vmaf_tiny_v4', batch: 1, target: '< 2 us' },
  { model: 'fr_regressor_v1', batch: 1, target: '< 2 us' },
  { model: 'vmaf_tiny_v2', batch: 4096, target: 'per sample <= ORT' },
  { model: 'vmaf_tiny_v3', batch: 4096, target: 'per sample <= ORT' },
  { model: 'vmaf_tiny_v4', batch: 4096, target: 'per sample <= ORT' },
  { model: 'fr_regressor_v1', batch: 4096, target: 'per sample <= ORT' },
];

function runJson(cmd, cmdArgs) {
  const out = execFileSync(cmd, cmdArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  return JSON.parse(line);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const rows = [];
for (const c of CASES) {
  const file = path.join(modelsDir, c.model + '.onnx');
  if (!fs.existsSync(file)) continue;
  const common = ['--batch', String(c.batch), '--threads', '1', '--json'];
  const t = { median: [], p10: [] };
  const o = { median: [], p10: [] };
  const oa = { median: [], p10: [] };
  for (let r = 0; r < rounds; ++r) {
    const a = runJson(tinyq, ['bench', file, ...common]);
    const b = runJson('node', [ortBench, file, ...common, '--level', 'basic']);
    const d = runJson('node', [ortBench, file, ...common, '--level', 'all']);
    t.median.push(a.median_us); t.p10.push(a.p10_us);
    o.median.push(b.median_us); o.p10.push(b.p10_us);
    oa.median.push(d.median_us); oa.p10.push(d.p10_us);
  }
  rows.push({
    model: c.model, batch: c.batch, target: c.target,
    tinyq_median_us: median(t.median), tinyq_p10_us: median(t.p10),
    ort_median_us: median(o.median), ort_p10_us: median(o.p10),
    ort_all_median_us: median(oa.median), ort_all_p10_us: median(oa.p10),
  });
}

const f = (x) => (x >= 100 ? x.toFixed(0) : x >= 1 ? x.toFixed(2) : x.toFixed(3));
console.log(`tinyq vs onnxruntime-node 1.30 (graph optimisation levels basic and all), 1 thread, ${rounds} interleaved rounds;`);
console.log('time per run in us, or per sample at batch > 1; each cell is median / p10');
console.log('| model | batch | tinyq | ORT basic | ORT all | tinyq/ORT basic | tinyq/ORT all | target |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const per = r.batch > 1 ? r.batch : 1;
  console.log(`| ${r.model} | ${r.batch} | ${f(r.tinyq_median_us / per)} / ${f(r.tinyq_p10_us / per)} | ` +
    `${f(r.ort_median_us / per)} / ${f(r.ort_p10_us / per)} | ${f(r.ort_all_median_us / per)} / ${f(r.ort_all_p10_us / per)} | ` +
    `${(r.tinyq_median_us / r.ort_median_us).toFixed(2)} | ${(r.tinyq_median_us / r.ort_all_median_us).toFixed(2)} | ${r.target} |`);
}
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify(rows, null, 2));
