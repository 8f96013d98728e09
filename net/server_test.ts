import assert from "node:assert/strict";
import { silentLogger } from "../core/log.ts";
import { encodeFrame } from "./protocol/frame.ts";
import { type ChunkedFrameHandler, KafkaServer } from "./server.ts";
import { FrameBufferPool } from "./frame_reader.ts";

async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let filled = 0;
  while (filled < n) {
    const got = await conn.read(out.subarray(filled));
    assert.notEqual(got, null, "the server closed the connection early");
    filled += got!;
  }
  return out;
}

function startServer(
  handler: ChunkedFrameHandler,
  inFlightBytesMax?: number,
  responseBuffers?: FrameBufferPool,
): KafkaServer {
  const server = new KafkaServer({
    responseBuffers,
    listenerName: "PLAINTEXT",
    hostname: "127.0.0.1",
    port: 0,
    handler,
    logger: silentLogger,
    frameBytesMax: 1 << 20,
    inFlightBytesMax,
  });
  server.start();
  return server;
}

Deno.test("a response given in chunks reaches the client as one frame, in request order", async () => {
  const server = startServer((frame) =>
    Promise.resolve(
      frame[0] === 1
        ? [new Uint8Array([0, 0, 0, 3]), new Uint8Array([1, 2]), new Uint8Array([3])]
        : encodeFrame(new Uint8Array([9])),
    )
  );
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await conn.write(
      new Uint8Array([...encodeFrame(new Uint8Array([1])), ...encodeFrame(new Uint8Array([2]))]),
    );
    assert.deepEqual([...await readExactly(conn, 12)], [0, 0, 0, 3, 1, 2, 3, 0, 0, 0, 1, 9]);
  } finally {
    conn.close();
    await server.stop();
  }
});

Deno.test("reading pauses while the connection's requests exceed the in-flight byte bound", async () => {
  const pending: (() => void)[] = [];
  const seen: number[] = [];
  let notify: (() => void) | undefined;
  const server = startServer((frame) => {
    seen.push(frame.length);
    notify?.();
    return new Promise((resolve) =>
      pending.push(() => resolve(encodeFrame(new Uint8Array([frame.length & 0xff]))))
    );
  }, 150_000);
  const until = async (done: () => boolean) => {
    while (!done()) await new Promise<void>((resolve) => (notify = resolve));
  };
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    const frames = [100_000, 100_001, 100_002].map((n) => encodeFrame(new Uint8Array(n)));
    const writing = (async () => {
      for (const f of frames) await conn.write(f);
    })();
    await until(() => seen.length >= 2);
    // Two 100 kB requests are outstanding (>= 150 kB): the third waits until one is answered.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(seen.length, 2);
    pending.shift()!();
    await until(() => seen.length >= 3);
    for (const answer of pending.splice(0)) answer();
    await writing;
    assert.deepEqual(
      [...await readExactly(conn, 15)],
      [0, 0, 0, 1, 0xa0, 0, 0, 0, 1, 0xa1, 0, 0, 0, 1, 0xa2],
    );
    assert.deepEqual(seen, [100_000, 100_001, 100_002]);
  } finally {
    conn.close();
    await server.stop();
  }
});

Deno.test("pooled pieces of a response go back to the pool once written, others are left alone", async () => {
  const pool = new FrameBufferPool(1 << 20);
  const pooled = pool.take(70_000).fill(5); // as a Fetch read would fill it
  const own = new Uint8Array([6, 6]);
  const server = startServer(
    () => {
      const size = new Uint8Array(4);
      new DataView(size.buffer).setInt32(0, pooled.length + own.length);
      return Promise.resolve([size, pooled, own]);
    },
    undefined,
    pool,
  );
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    await conn.write(encodeFrame(new Uint8Array([1])));
    const got = await readExactly(conn, 4 + pooled.length + own.length);
    assert.equal(got[4], 5);
    assert.equal(got.at(-1), 6);
    // The writer gives the pieces back right after the socket took them.
    for (let i = 0; i < 50 && pool.freeBytes === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(pool.freeBytes, pooled.buffer.byteLength);
    assert.equal(pool.take(70_000).buffer, pooled.buffer);
  } finally {
    conn.close();
    await server.stop();
  }
});
