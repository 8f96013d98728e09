/**
 * A slicing-by-16 table CRC in a small WebAssembly module assembled here, instruction by
 * instruction, so it needs no toolchain and `deno compile` embeds it as plain bytes.
 *
 * Why its own module rather than hash-wasm's: a follower checks the CRC of every byte it
 * replicates and a leader of every byte a client sends, so the CRC was a sixth of a replicating
 * broker's CPU. hash-wasm's slicing-by-8 goes through a 16 KiB window (a copy and a call per
 * 16 KiB); this module takes 1 MiB per call and folds 16 input bytes per step, which halves the
 * loop's dependency chain on the running CRC.
 *
 * Layout of its one memory: sixteen 256-entry tables at 0 (table k maps a byte to its CRC after k
 * more zero bytes), the input window at {@link WINDOW_OFFSET}.
 *
 * @module
 */

/** Where the input window starts in the module's memory (the tables take the first 16 KiB). */
const WINDOW_OFFSET = 65536;
/** Bytes hashed per call: the window the caller copies input into. */
const WINDOW_BYTES = 1 << 20;
const PAGE_BYTES = 65536;
const TABLES = 16;
const TABLE_BYTES = 256 * 4;

// WebAssembly opcodes used below (https://webassembly.github.io/spec/core/binary/instructions.html).
const OP = {
  block: 0x02,
  loop: 0x03,
  br: 0x0c,
  brIf: 0x0d,
  end: 0x0b,
  localGet: 0x20,
  localSet: 0x21,
  i32Load: 0x28,
  i32Load8U: 0x2d,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32LtU: 0x49,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32And: 0x71,
  i32Xor: 0x73,
  i32Shl: 0x74,
  i32ShrU: 0x76,
  voidBlock: 0x40,
  i32: 0x7f,
} as const;

function unsignedLeb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

function signedLeb(n: number): number[] {
  const out: number[] = [];
  while (true) {
    const byte = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function section(id: number, body: number[]): number[] {
  return [id, ...unsignedLeb(body.length), ...body];
}

// Function locals: the three parameters, then the four words of a 16-byte step.
const CRC = 0, PTR = 1, LEN = 2, WORDS = [3, 4, 5, 6];

/** Pushes table[table][byte `index` of local `word`]. */
function lookup(word: number, index: number, table: number): number[] {
  const get = [OP.localGet, word];
  // The byte times 4 (a table entry's byte offset), from a shift and one mask.
  const scaled = index === 0
    ? [...get, OP.i32Const, 2, OP.i32Shl, OP.i32Const, ...signedLeb(0x3fc), OP.i32And]
    : index === 3
    ? [...get, OP.i32Const, 22, OP.i32ShrU, OP.i32Const, ...signedLeb(0x3fc), OP.i32And]
    : [...get, OP.i32Const, index * 8 - 2, OP.i32ShrU, OP.i32Const, ...signedLeb(0x3fc), OP.i32And];
  return [...scaled, OP.i32Load, 2, ...unsignedLeb(table * TABLE_BYTES)];
}

/** `update(crc, ptr, len) -> crc`: the running (inverted) CRC over memory[ptr, ptr + len). */
function updateBody(): number[] {
  const code: number[] = [];
  // block $tail { loop $step { if len < 16 break; ...; continue } }
  code.push(OP.block, OP.voidBlock, OP.loop, OP.voidBlock);
  code.push(OP.localGet, LEN, OP.i32Const, 16, OP.i32LtU, OP.brIf, 1);
  for (let w = 0; w < 4; w++) {
    code.push(OP.localGet, PTR, OP.i32Load, 0, ...unsignedLeb(w * 4));
    if (w === 0) code.push(OP.localGet, CRC, OP.i32Xor);
    code.push(OP.localSet, WORDS[w]!);
  }
  // Byte j of the 16 (word j >> 2, byte j & 3) goes through table 15 - j.
  for (let j = 0; j < 16; j++) {
    code.push(...lookup(WORDS[j >> 2]!, j & 3, 15 - j));
    if (j > 0) code.push(OP.i32Xor);
  }
  code.push(OP.localSet, CRC);
  code.push(OP.localGet, PTR, OP.i32Const, 16, OP.i32Add, OP.localSet, PTR);
  code.push(OP.localGet, LEN, OP.i32Const, 16, OP.i32Sub, OP.localSet, LEN);
  code.push(OP.br, 0, OP.end, OP.end);
  // The last 0-15 bytes one at a time: crc = table0[(crc ^ byte) & 0xff] ^ (crc >>> 8).
  code.push(OP.block, OP.voidBlock, OP.loop, OP.voidBlock);
  code.push(OP.localGet, LEN, OP.i32Eqz, OP.brIf, 1);
  code.push(OP.localGet, CRC, OP.localGet, PTR, OP.i32Load8U, 0, 0, OP.i32Xor);
  code.push(OP.i32Const, ...signedLeb(0xff), OP.i32And, OP.i32Const, 2, OP.i32Shl);
  code.push(OP.i32Load, 2, 0);
  code.push(OP.localGet, CRC, OP.i32Const, 8, OP.i32ShrU, OP.i32Xor, OP.localSet, CRC);
  code.push(OP.localGet, PTR, OP.i32Const, 1, OP.i32Add, OP.localSet, PTR);
  code.push(OP.localGet, LEN, OP.i32Const, 1, OP.i32Sub, OP.localSet, LEN);
  code.push(OP.br, 0, OP.end, OP.end);
  code.push(OP.localGet, CRC, OP.end);
  const locals = [1, 4, OP.i32]; // one run of four i32 locals
  return [...unsignedLeb(locals.length + code.length), ...locals, ...code];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const pages = (WINDOW_OFFSET + WINDOW_BYTES) / PAGE_BYTES;
  const name = (s: string) => [...unsignedLeb(s.length), ...new TextEncoder().encode(s)];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00, // "\0asm", version 1
    ...section(1, [1, 0x60, 3, OP.i32, OP.i32, OP.i32, 1, OP.i32]), // type 0: (i32 i32 i32) -> i32
    ...section(3, [1, 0]), // function 0 has type 0
    ...section(5, [1, 0, ...unsignedLeb(pages)]), // one memory, fixed minimum, no maximum
    ...section(7, [2, ...name("update"), 0x00, 0, ...name("memory"), 0x02, 0]),
    ...section(10, [1, ...updateBody()]),
  ]);
}

/** The sixteen slicing tables of a reflected polynomial, table k at k * 256. */
function slicingTables(reflectedPolynomial: number): Uint32Array {
  const t = new Uint32Array(256 * TABLES);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ reflectedPolynomial : c >>> 1;
    t[n] = c >>> 0;
  }
  for (let k = 1; k < TABLES; k++) {
    for (let n = 0; n < 256; n++) {
      const previous = t[(k - 1) * 256 + n]!;
      t[k * 256 + n] = (previous >>> 8) ^ t[previous & 0xff]!;
    }
  }
  return t;
}

const compiled = new WebAssembly.Module(moduleBytes());

/**
 * Returns a function computing the CRC of a reflected polynomial (CRC32C: 0x82f63b78, IEEE
 * CRC32: 0xedb88320) with the WASM module, copying input through its 1 MiB window.
 *
 * @example
 * ```ts
 * const crc32c = wasmCrc(0x82f63b78);
 * crc32c(new TextEncoder().encode("123456789")); // 0xe3069283
 * ```
 */
export function wasmCrc(reflectedPolynomial: number): (bytes: Uint8Array) => number {
  const instance = new WebAssembly.Instance(compiled, {});
  const update = instance.exports.update as (crc: number, ptr: number, len: number) => number;
  // The memory never grows, so this view stays attached.
  const memory = new Uint8Array((instance.exports.memory as WebAssembly.Memory).buffer);
  new Uint32Array(memory.buffer, 0, 256 * TABLES).set(slicingTables(reflectedPolynomial));
  const window = memory.subarray(WINDOW_OFFSET, WINDOW_OFFSET + WINDOW_BYTES);
  return (bytes: Uint8Array): number => {
    let crc = -1;
    for (let at = 0; at < bytes.length; at += WINDOW_BYTES) {
      const chunk = bytes.subarray(at, at + WINDOW_BYTES);
      window.set(chunk);
      crc = update(crc, WINDOW_OFFSET, chunk.length);
    }
    return ~crc >>> 0;
  };
}
