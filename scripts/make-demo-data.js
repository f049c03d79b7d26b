#!/usr/bin/env node
// Generates the demo's input sets for the bundled models that have no bundled data,
// deterministically (fixed seed), into OUT_DIR (default out/demo-data). The image models run on
// their real bundled fixtures (models/data/). This data is synthetic and made here, so it carries
// no third-party licence:
//   - feature MLPs (vmaf_tiny_v2/v3/v4): 256 rows of the six libvmaf features in their natural
//     ranges (adm2 and vif_scale0..3 in [0.2, 1], vif rising with scale, motion2 in [0, 20]);
//   - fr_regressor_v1: the same rows standardised (zero mean, unit variance per feature);
//   - smoke_v0: 8 rows of uniform [0,1) values, [8,1,4,4], fed one row at a time.
// Usage: node scripts/make-demo-data.js [OUT_DIR]
'use strict';
const path = require('path');
const fs = require('fs');
const npy = require(path.join(__dirname, '..', 'tools', 'ort-peer', 'npy.js'));

const out = path.resolve(process.argv[2] || path.join(__dirname, '..', 'out', 'demo-data'));
fs.mkdirSync(out, { recursive: true });

// mulberry32: a small, well-known 32-bit PRNG, so the data is the same on every machine.
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
const rand = rng(20261127);

const ROWS = 256;
const features = new Float32Array(ROWS * 6);
for (let r = 0; r < ROWS; ++r) {
  const q = rand();  // overall quality of the row
  const adm2 = 0.55 + 0.45 * Math.pow(q, 0.7);
  const vif0 = 0.2 + 0.6 * q * (0.8 + 0.2 * rand());
  const row = [adm2, vif0];
  for (let s = 1; s < 4; ++s) row.push(Math.min(1, row[row.length - 1] + 0.05 + 0.15 * q * rand()));
  row.push(rand() < 0.1 ? 0 : 20 * Math.pow(rand(), 2));
  features.set(row, r * 6);
}
npy.writeNpz(path.join(out, 'features.npz'), [['features', { dtype: 'float32', shape: [ROWS, 6], data: features }]]);

const std = new Float32Array(ROWS * 6);
for (let f = 0; f < 6; ++f) {
  let mean = 0, sq = 0;
  for (let r = 0; r < ROWS; ++r) mean += features[r * 6 + f];
  mean /= ROWS;
  for (let r = 0; r < ROWS; ++r) sq += (features[r * 6 + f] - mean) ** 2;
  const sd = Math.sqrt(sq / ROWS) || 1;
  for (let r = 0; r < ROWS; ++r) std[r * 6 + f] = (features[r * 6 + f] - mean) / sd;
}
npy.writeNpz(path.join(out, 'features_standardised.npz'), [['features', { dtype: 'float32', shape: [ROWS, 6], data: std }]]);

const smoke = new Float32Array(8 * 16);
for (let i = 0; i < smoke.length; ++i) smoke[i] = rand();
npy.writeNpz(path.join(out, 'smoke.npz'), [['features', { dtype: 'float32', shape: [8, 1, 4, 4], data: smoke }]]);
console.log(`demo data written to ${out}`);
