#!/usr/bin/env node
// Makes the calibration and fixture sets bundled in models/data/ from the shared model zoo's image
// sets, deterministically: an evenly spaced subset of the zoo's rows (row k of n kept is zoo row
// floor(k * N / n)), stored as a deflated .npz (np.savez_compressed layout), plus the zoo's
// per-row provenance for exactly the rows kept. Only the image models' sets are taken: their
// photos are Apache-2.0 / BSD-3-Clause / CC0 / public domain (models/NOTICE.md). The feature-MLP
// sets are GPL-3.0-derived and must never be bundled, so this script refuses them.
// Usage: node scripts/bundle-fixtures.js ZOO_DIR [OUT_DIR]   (OUT_DIR default: models/data)
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const npy = require(path.join(__dirname, '..', 'tools', 'ort-peer', 'npy.js'));

// model -> rows kept per set. nr_metric: 16 of 40 calibration, 48 of 128 fixtures; learned_filter:
// every row (8 and 16). Each row is a 224x224 float map, about 44 KB deflated.
const SUBSETS = {
  nr_metric_v1: { calibration: 16, fixtures: 48 },
  learned_filter_v1: { calibration: 8, fixtures: 16 },
};
const GPL_DERIVED = ['vmaf_tiny_v2', 'vmaf_tiny_v3', 'vmaf_tiny_v4', 'fr_regressor_v1'];

const SIG_LOCAL = 0x04034b50, SIG_CENTRAL = 0x02014b50, SIG_EOCD = 0x06054b50;
const METHOD_DEFLATED = 8;
const DOS_TIME = 0, DOS_DATE = 0x21;  // 1980-01-01 00:00, so the bytes never depend on the clock
const DEFLATE_LEVEL = 9;

// A zip of deflated entries: [[entryName, Buffer], ...].
function deflatedZip(entries) {
  const parts = [], central = [];
  let offset = 0;
  for (const [entryName, data] of entries) {
    const name = Buffer.from(entryName, 'utf8');
    const packed = zlib.deflateRawSync(data, { level: DEFLATE_LEVEL });
    const crc = npy.crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(SIG_LOCAL, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(METHOD_DEFLATED, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(packed.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(SIG_CENTRAL, 0);
    cd.writeUInt16LE(20, 4);
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(METHOD_DEFLATED, 10);
    cd.writeUInt16LE(DOS_TIME, 12);
    cd.writeUInt16LE(DOS_DATE, 14);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(packed.length, 20);
    cd.writeUInt32LE(data.length, 24);
    cd.writeUInt16LE(name.length, 28);
    cd.writeUInt32LE(offset, 42);
    parts.push(local, name, packed);
    central.push(cd, name);
    offset += 30 + name.length + packed.length;
  }
  const cdBuf = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(SIG_EOCD, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cdBuf.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cdBuf, eocd]);
}

function pickRows(total, keep) {
  if (keep > total) throw new Error(`asked for ${keep} rows of ${total}`);
  return Array.from({ length: keep }, (_, k) => Math.floor((k * total) / keep));
}

function subsetArray(arr, rows) {
  const rowSize = npy.numelOf(arr.shape.slice(1));
  const data = new arr.data.constructor(rows.length * rowSize);
  rows.forEach((r, k) => data.set(arr.data.subarray(r * rowSize, (r + 1) * rowSize), k * rowSize));
  return { dtype: arr.dtype, shape: [rows.length, ...arr.shape.slice(1)], data };
}

function bundle(zoo, out, model, set, keep) {
  if (GPL_DERIVED.includes(model)) throw new Error(`${model}: its zoo data is GPL-3.0-derived and is never bundled`);
  const base = `${model}.${set}`;
  const arrays = npy.readNpz(path.join(zoo, 'fixtures', `${base}.npz`));
  const total = arrays[0][1].shape[0];
  const rows = pickRows(total, keep);
  const entries = arrays.map(([name, arr]) => [`${name}.npy`, npy.serializeNpy(subsetArray(arr, rows))]);
  const npz = path.join(out, `${base}.npz`);
  fs.writeFileSync(npz, deflatedZip(entries));

  const prov = JSON.parse(fs.readFileSync(path.join(zoo, 'fixtures', `${base}.json`), 'utf8'));
  const kept = rows.map((r, k) => ({ ...prov.samples[r], i: k, zoo_row: r }));
  const shapes = Object.fromEntries(arrays.map(([name, arr]) => [name, { dtype: arr.dtype, shape: [keep, ...arr.shape.slice(1)] }]));
  const subset = {
    ...prov,
    inputs: shapes,
    n: keep,
    samples: kept,
    subset_of: { file: `zoo/fixtures/${base}.npz`, rows: total, rule: 'row k of n kept is zoo row floor(k * N / n)' },
  };
  fs.writeFileSync(path.join(out, `${base}.json`), JSON.stringify(subset, null, 1) + '\n');
  console.log(`${npz}: ${keep} of ${total} rows, ${fs.statSync(npz).size} bytes`);
}

function main() {
  const zoo = process.argv[2];
  if (!zoo) {
    console.error('usage: node scripts/bundle-fixtures.js ZOO_DIR [OUT_DIR]');
    process.exit(2);
  }
  const out = path.resolve(process.argv[3] || path.join(__dirname, '..', 'models', 'data'));
  fs.mkdirSync(out, { recursive: true });
  for (const [model, sets] of Object.entries(SUBSETS))
    for (const [set, keep] of Object.entries(sets)) bundle(zoo, out, model, set, keep);
  // Written, not copied: the zoo's files are read-only and the copy must stay editable.
  fs.writeFileSync(path.join(out, 'SOURCE_PHOTOS.json'), fs.readFileSync(path.join(zoo, 'fixtures', 'SOURCE_PHOTOS.json')));
}

main();
