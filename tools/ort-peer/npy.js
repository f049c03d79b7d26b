'use strict';
// Minimal numpy .npy / .npz reader and writer for the ORT peer, with no npm dependencies.
// Arrays are {dtype, shape, data}: dtype is an ONNX Runtime tensor type name ('float32', 'int64',
// 'bool', ...) and data the matching typed array (BigInt64Array for int64, Uint8Array for bool).
// Supported: npy 1.0/2.0/3.0, little-endian f4 f8 i1 u1 i2 u2 i4 i8 b1, C order, any rank;
// npz entries stored or deflated (np.savez, np.savez_compressed). Writers make stored archives.

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

// numpy kind+size -> [ORT type name, typed array constructor].
const NPY_TYPES = {
  f4: ['float32', Float32Array],
  f8: ['float64', Float64Array],
  i1: ['int8', Int8Array],
  u1: ['uint8', Uint8Array],
  i2: ['int16', Int16Array],
  u2: ['uint16', Uint16Array],
  i4: ['int32', Int32Array],
  i8: ['int64', BigInt64Array],
  b1: ['bool', Uint8Array],
};
const DESCR_OF = Object.fromEntries(
  Object.entries(NPY_TYPES).map(([code, [name]]) => [name, (code.endsWith('1') ? '|' : '<') + code]));
const CTOR_OF = Object.fromEntries(Object.values(NPY_TYPES).map(([name, ctor]) => [name, ctor]));

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // "\x93NUMPY"
const ARRAY_ALIGN = 64; // numpy starts the data on a 64-byte boundary
const GROWTH_AXIS_MAX_DIGITS = 21; // numpy's spare room for the first dim to grow in place
const MAX_HEADER_BYTES = 65536; // longest header we parse (hostile files may claim 4 GiB)

function fail(name, msg) {
  throw new Error(`${name}: ${msg}`);
}

function numelOf(shape) {
  return shape.reduce((a, b) => a * b, 1);
}

// The header is a Python dict literal; the subset np.save writes maps onto JSON.
function parseHeaderDict(text, name) {
  const json = text.trim()
    .replace(/'/g, '"')
    .replace(/\bTrue\b/g, 'true')
    .replace(/\bFalse\b/g, 'false')
    .replace(/\(/g, '[')
    .replace(/\)/g, ']')
    .replace(/,\s*([}\]])/g, '$1');
  let d;
  try {
    d = JSON.parse(json);
  } catch (e) {
    fail(name, `malformed npy header: ${text.trim()}`);
  }
  if (typeof d !== 'object' || d === null || Array.isArray(d)) fail(name, 'malformed npy header: not a dict');
  for (const key of ['descr', 'fortran_order', 'shape']) if (!(key in d)) fail(name, `npy header lacks '${key}'`);
  return d;
}

function typeFromDescr(descr, name) {
  if (typeof descr !== 'string') fail(name, 'structured (record) dtypes are not supported');
  let order = '=';
  let code = descr;
  if ('<>|='.includes(code[0])) {
    order = code[0];
    code = code.slice(1);
  }
  if (code[0] === 'O') fail(name, `object arrays (pickled Python objects, dtype '${descr}') are not supported`);
  const t = NPY_TYPES[code];
  if (!t) fail(name, `unsupported dtype '${descr}'; supported: ${Object.keys(NPY_TYPES).join(' ')}`);
  if (order === '>' && !code.endsWith('1')) fail(name, `big-endian dtype '${descr}' is not supported`);
  return t;
}

// Parses .npy bytes (a Buffer or Uint8Array); `name` prefixes every error.
function parseNpy(bytes, name = 'npy') {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < MAGIC.length || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    if (buf[0] === 0x80) fail(name, 'is a Python pickle, not an npy file');
    fail(name, 'not an npy file (no \\x93NUMPY magic)');
  }
  if (buf.length < 8) fail(name, 'truncated npy file');
  const major = buf[6];
  const minor = buf[7];
  if (major < 1 || major > 3 || minor !== 0) fail(name, `npy format version ${major}.${minor} is not supported`);
  const lenBytes = major === 1 ? 2 : 4;
  if (buf.length < 8 + lenBytes) fail(name, 'truncated npy file');
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  if (headerLen > MAX_HEADER_BYTES) fail(name, `npy header too large (${headerLen} bytes)`);
  const dataOff = 8 + lenBytes + headerLen;
  if (buf.length < dataOff) fail(name, 'truncated npy header');
  const text = buf.subarray(8 + lenBytes, dataOff).toString(major === 3 ? 'utf8' : 'latin1');
  const h = parseHeaderDict(text, name);
  const [dtype, Ctor] = typeFromDescr(h.descr, name);
  if (h.fortran_order !== false) fail(name, 'Fortran-order arrays are not supported');
  const shape = h.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    fail(name, `bad npy shape ${JSON.stringify(shape)}`);
  }
  const numel = numelOf(shape);
  const nbytes = numel * Ctor.BYTES_PER_ELEMENT;
  if (!Number.isSafeInteger(nbytes)) fail(name, `npy shape [${shape}] is too large`);
  const have = buf.length - dataOff;
  if (have < nbytes) fail(name, `truncated npy data: ${dtype} [${shape}] needs ${nbytes} bytes, file has ${have}`);
  if (have > nbytes) fail(name, `npy data size mismatch: ${dtype} [${shape}] needs ${nbytes} bytes, file has ${have}`);
  // Copy so the typed array is aligned and owns its memory.
  const data = new Ctor(numel);
  new Uint8Array(data.buffer).set(buf.subarray(dataOff, dataOff + nbytes));
  return { dtype, shape: shape.slice(), data };
}

// np.save's exact bytes for an array.
function serializeNpy(arr) {
  const descr = DESCR_OF[arr.dtype];
  if (!descr) throw new Error(`cannot save a ${arr.dtype} array to npy`);
  const shape = arr.shape;
  const Ctor = CTOR_OF[arr.dtype];
  if (!(arr.data instanceof Ctor)) throw new Error(`${arr.dtype} array needs a ${Ctor.name}`);
  if (arr.data.length !== numelOf(shape)) {
    throw new Error(`array data has ${arr.data.length} elements, shape [${shape}] needs ${numelOf(shape)}`);
  }
  const tuple = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${tuple}, }`;
  if (shape.length > 0) dict += ' '.repeat(GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length);
  const hlen = dict.length + 1;
  const v1 = hlen + ARRAY_ALIGN <= 65535;
  const prefix = 8 + (v1 ? 2 : 4);
  const pad = ARRAY_ALIGN - ((prefix + hlen) % ARRAY_ALIGN);
  const head = Buffer.alloc(prefix);
  MAGIC.copy(head, 0);
  head[6] = v1 ? 1 : 2;
  head[7] = 0;
  if (v1) head.writeUInt16LE(hlen + pad, 8);
  else head.writeUInt32LE(hlen + pad, 8);
  const body = Buffer.from(dict + ' '.repeat(pad) + '\n', 'latin1');
  const data = Buffer.from(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength);
  return Buffer.concat([head, body, data]);
}

// --- zip ---------------------------------------------------------------------------------------

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const ZIP64_EXTRA_ID = 0x0001;
const METHOD_STORED = 0;
const METHOD_DEFLATED = 8;
// 2000-01-01 12:00 as DOS date/time, so identical arrays give identical archives.
const DOS_DATE = ((2000 - 1980) << 9) | (1 << 5) | 1;
const DOS_TIME = 12 << 11;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf) {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// Reads zip64 sizes/offset for the fields the 32-bit record marked as 0xFFFFFFFF.
function applyZip64(extra, rec) {
  let p = 0;
  while (p + 4 <= extra.length) {
    const id = extra.readUInt16LE(p);
    const size = extra.readUInt16LE(p + 2);
    if (id === ZIP64_EXTRA_ID) {
      let q = p + 4;
      for (const key of ['usize', 'csize', 'offset']) {
        if (rec[key] === 0xffffffff && q + 8 <= p + 4 + size) {
          rec[key] = Number(extra.readBigUInt64LE(q));
          q += 8;
        }
      }
    }
    p += 4 + size;
  }
}

function readNpzBuffer(buf, name) {
  if (buf.length >= MAGIC.length && buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    fail(name, 'is an .npy file, not an npz archive');
  }
  // The end-of-central-directory record sits within the last 64 KiB + 22 bytes.
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 65535); i--) {
    if (buf.readUInt32LE(i) === SIG_EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) fail(name, 'not an npz archive (no zip directory found: not a zip file, or truncated)');
  let count = buf.readUInt16LE(eocd + 10);
  let cdOff = buf.readUInt32LE(eocd + 16);
  if ((count === 0xffff || cdOff === 0xffffffff) && eocd >= 20 && buf.readUInt32LE(eocd - 20) === 0x07064b50) {
    const rec64 = Number(buf.readBigUInt64LE(eocd - 12));
    if (rec64 + 56 > buf.length || buf.readUInt32LE(rec64) !== SIG_EOCD64) fail(name, 'corrupt zip64 directory');
    count = Number(buf.readBigUInt64LE(rec64 + 32));
    cdOff = Number(buf.readBigUInt64LE(rec64 + 48));
  }
  const out = [];
  const seen = new Set();
  let p = cdOff;
  for (let i = 0; i < count; i++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== SIG_CENTRAL) fail(name, 'corrupt zip directory');
    const rec = {
      method: buf.readUInt16LE(p + 10),
      flags: buf.readUInt16LE(p + 8),
      crc: buf.readUInt32LE(p + 16),
      csize: buf.readUInt32LE(p + 20),
      usize: buf.readUInt32LE(p + 24),
      offset: buf.readUInt32LE(p + 42),
    };
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    if (p + 46 + nameLen + extraLen > buf.length) fail(name, 'corrupt zip directory');
    const entry = buf.subarray(p + 46, p + 46 + nameLen).toString('utf8');
    applyZip64(buf.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen), rec);
    p += 46 + nameLen + extraLen + commentLen;
    if (entry.endsWith('/')) continue;
    if (!entry.endsWith('.npy') || entry.length <= 4) fail(name, `entry '${entry}' is not an .npy array`);
    const arrName = entry.slice(0, -4);
    const where = `${name}: array '${arrName}'`;
    if (seen.has(arrName)) fail(where, 'appears twice');
    seen.add(arrName);
    if (rec.flags & 1) fail(where, 'encrypted entries are not supported');
    const lh = rec.offset;
    if (lh + 30 > buf.length || buf.readUInt32LE(lh) !== SIG_LOCAL) fail(where, 'corrupt local zip header');
    const start = lh + 30 + buf.readUInt16LE(lh + 26) + buf.readUInt16LE(lh + 28);
    if (start + rec.csize > buf.length) fail(where, 'truncated zip entry');
    const raw = buf.subarray(start, start + rec.csize);
    let data;
    if (rec.method === METHOD_STORED) data = raw;
    else if (rec.method === METHOD_DEFLATED) {
      try {
        data = zlib.inflateRawSync(raw, { maxOutputLength: Math.max(rec.usize, 1) });
      } catch (e) {
        fail(where, `cannot inflate: ${e.message}`);
      }
    } else fail(where, `unsupported zip compression method ${rec.method}`);
    if (data.length !== rec.usize) fail(where, `entry size ${data.length} != declared ${rec.usize}`);
    if (crc32(data) !== rec.crc) fail(where, 'CRC mismatch (corrupt entry)');
    out.push([arrName, parseNpy(data, where)]);
  }
  return out;
}

// Returns [[name, array], ...] in archive order; names without ".npy".
function readNpz(file) {
  return readNpzBuffer(fs.readFileSync(file), file);
}

function readNpy(file) {
  return parseNpy(fs.readFileSync(file), file);
}

function buildStoredZip(entries) {
  const parts = [];
  const central = [];
  let offset = 0;
  for (const [entryName, data] of entries) {
    const nameBuf = Buffer.from(entryName, 'utf8');
    if (data.length >= 0xffffffff || offset >= 0xffffffff) throw new Error('npz over 4 GiB needs zip64; not supported');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(SIG_LOCAL, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(METHOD_STORED, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBuf.length, 26);
    local.writeUInt16LE(0, 28);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(SIG_CENTRAL, 0);
    cd.writeUInt16LE(20, 4); // made by: 2.0
    cd.writeUInt16LE(20, 6);
    cd.writeUInt16LE(0x0800, 8);
    cd.writeUInt16LE(METHOD_STORED, 10);
    cd.writeUInt16LE(DOS_TIME, 12);
    cd.writeUInt16LE(DOS_DATE, 14);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(data.length, 20);
    cd.writeUInt32LE(data.length, 24);
    cd.writeUInt16LE(nameBuf.length, 28);
    cd.writeUInt32LE(offset, 42);
    central.push(cd, nameBuf);
    parts.push(local, nameBuf, data);
    offset += 30 + nameBuf.length + data.length;
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

// Crash-safe: temp file in the same folder, fsync, rename; the temp file goes on failure.
function writeFileAtomic(file, bytes) {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  let fd = null;
  try {
    fd = fs.openSync(tmp, 'wx', 0o644);
    let done = 0;
    while (done < bytes.length) done += fs.writeSync(fd, bytes, done, bytes.length - done);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = null;
    fs.renameSync(tmp, file);
  } catch (e) {
    if (fd !== null) fs.closeSync(fd);
    try {
      fs.unlinkSync(tmp);
    } catch (_) {
      // the temp file was never created, or was already renamed
    }
    throw new Error(`${file}: write failed: ${e.message}`);
  }
  try {
    const dfd = fs.openSync(dir, 'r');
    fs.fsyncSync(dfd);
    fs.closeSync(dfd);
  } catch (_) {
    // some filesystems refuse fsync on folders; the rename has still happened
  }
}

function writeNpy(file, arr) {
  writeFileAtomic(file, serializeNpy(arr));
}

// `arrays`: [[name, array], ...] or a Map; written as a stored archive in that order.
function writeNpz(file, arrays) {
  const list = arrays instanceof Map ? [...arrays.entries()] : arrays;
  const seen = new Set();
  const entries = list.map(([name, arr]) => {
    if (!name) throw new Error(`${file}: npz array names must not be empty`);
    if (seen.has(name)) throw new Error(`${file}: npz array '${name}' appears twice`);
    seen.add(name);
    return [`${name}.npy`, serializeNpy(arr)];
  });
  writeFileAtomic(file, buildStoredZip(entries));
}

module.exports = {
  parseNpy, serializeNpy, readNpy, readNpz, readNpzBuffer, writeNpy, writeNpz, crc32, numelOf, CTOR_OF,
};
