// max.connections, max.connections.per.ip (with overrides) and connections.max.idle.ms, enforced
// by real listeners on loopback.
import assert from "node:assert/strict";
import { silentLogger } from "../core/log.ts";
import { encodeFrame } from "./protocol/frame.ts";
import { ConnectionQuotas } from "./connection_quotas.ts";
import { KafkaServer } from "./server.ts";

function echoServer(quotas: ConnectionQuotas, idleTimeoutMs?: number): KafkaServer {
  const server = new KafkaServer({
    listenerName: "PLAINTEXT",
    hostname: "127.0.0.1",
    port: 0,
    handler: (frame) => Promise.resolve(encodeFrame(frame)),
    logger: silentLogger,
    frameBytesMax: 1 << 20,
    quotas,
    idleTimeoutMs,
  });
  server.start();
  return server;
}

/** True when the connection answers an echo request; false when the server closed it. */
async function answers(conn: Deno.Conn, timeoutMs = 2_000): Promise<boolean> {
  try {
    await conn.write(encodeFrame(new Uint8Array([7])));
  } catch {
    return false;
  }
  const buf = new Uint8Array(5);
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    const n = await conn.read(buf);
    return n !== null && n > 0;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Connects to an echo server under `quotas` once (that connection must be served), then a second
 * time, and runs `check` on the second; closes both and the server.
 */
async function afterFirstConnection(
  quotas: ConnectionQuotas,
  check: (second: Deno.Conn) => Promise<void>,
): Promise<void> {
  const server = echoServer(quotas);
  const conns: Deno.Conn[] = [];
  try {
    conns.push(await Deno.connect({ hostname: "127.0.0.1", port: server.port }));
    assert.ok(await answers(conns[0]!), "the first connection is within the rate");
    conns.push(await Deno.connect({ hostname: "127.0.0.1", port: server.port }));
    await check(conns[1]!);
  } finally {
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await server.stop(0);
  }
}

Deno.test("a second connection from an address at max.connections.per.ip is closed", async () => {
  const quotas = new ConnectionQuotas({ maxConnections: 100, maxConnectionsPerIp: 1 });
  const server = echoServer(quotas);
  const first = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const second = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    assert.ok(await answers(first));
    assert.ok(!await answers(second), "the second connection was refused");
    assert.equal(quotas.total, 1);
  } finally {
    first.close();
    try {
      second.close();
    } catch { /* closed by the timeout */ }
    await server.stop();
  }
});

Deno.test("max.connections.per.ip.overrides raises the limit for one address", async () => {
  const quotas = new ConnectionQuotas({
    maxConnections: 100,
    maxConnectionsPerIp: 0,
    perIpOverrides: new Map([["127.0.0.1", 2]]),
  });
  const server = echoServer(quotas);
  const conns = await Promise.all(
    [0, 1].map(() => Deno.connect({ hostname: "127.0.0.1", port: server.port })),
  );
  try {
    for (const c of conns) assert.ok(await answers(c));
  } finally {
    for (const c of conns) c.close();
    await server.stop();
  }
});

Deno.test("at max.connections the listener waits for a connection to close before accepting", async () => {
  const quotas = new ConnectionQuotas({ maxConnections: 1, maxConnectionsPerIp: 100 });
  const server = echoServer(quotas);
  const first = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  assert.ok(await answers(first));
  const second = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    // Accepted by the OS backlog, not served while the first is open.
    const pending = answers(second, 5_000);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(quotas.total, 1);
    first.close();
    assert.ok(await pending, "served once the first closed");
  } finally {
    second.close();
    await server.stop();
  }
});

Deno.test("connections.max.idle.ms closes a connection that stays quiet", async () => {
  const quotas = new ConnectionQuotas({ maxConnections: 100, maxConnectionsPerIp: 100 });
  const server = echoServer(quotas, 300);
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  try {
    assert.ok(await answers(conn));
    const buf = new Uint8Array(1);
    const deadline = Date.now() + 5_000;
    let closed = false;
    while (!closed && Date.now() < deadline) {
      closed = (await conn.read(buf).catch(() => null)) === null;
    }
    assert.ok(closed, "the idle connection was closed by the server");
    for (let i = 0; i < 50 && quotas.total > 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(quotas.total, 0, "its slot was released");
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
    await server.stop();
  }
});

Deno.test("connection_creation_rate holds new connections over an address's rate, then closes them (KIP-612)", async () => {
  const quotas = new ConnectionQuotas({
    maxConnections: 100,
    maxConnectionsPerIp: 100,
    ipConnectionRate: (ip) => ip === "127.0.0.1" ? 1.5 : null, // measured over at least 1 s
    rateWindows: { windowCount: 2, windowSizeMs: 1000 },
  });
  await afterFirstConnection(quotas, async (second) => {
    assert.ok(!await answers(second, 3_000), "the second is held and closed unserved");
  });
});

Deno.test("IP quotas do not apply to exempt (inter-broker, controller) listeners", () => {
  const quotas = new ConnectionQuotas({
    maxConnections: 100,
    maxConnectionsPerIp: 100,
    ipConnectionRate: () => 0.001,
    ipQuotaExemptListeners: ["REPLICATION"],
  });
  assert.equal(quotas.connectionThrottleMs("10.0.0.1", "REPLICATION", 0), 0);
  assert.equal(quotas.connectionThrottleMs("10.0.0.1", "REPLICATION", 1), 0);
  assert.ok(quotas.connectionThrottleMs("10.0.0.1", "CLIENT", 0) >= 0);
  assert.ok(quotas.connectionThrottleMs("10.0.0.1", "CLIENT", 1) > 0);
});

Deno.test("max.connection.creation.rate: the node's rate spares the inter-broker listener, a listener's own does not", () => {
  const quotas = new ConnectionQuotas({
    maxConnections: 100,
    maxConnectionsPerIp: 100,
    interBrokerListener: "REPLICATION",
    connectionCreationRate: (listener) => ({
      listener: listener === "REPLICATION" ? 1 : null,
      node: 1,
    }),
    rateWindows: { windowCount: 2, windowSizeMs: 1000 },
  });
  // Measured over at least one window (1 s): the second connection within it is over 1/s.
  assert.equal(quotas.acceptThrottleMs("CLIENT", 0), 0);
  assert.ok(quotas.acceptThrottleMs("CLIENT", 10) > 0, "the node's rate");
  assert.equal(quotas.acceptThrottleMs("REPLICATION", 20), 0, "not counted toward the node's");
  assert.ok(quotas.acceptThrottleMs("REPLICATION", 30) > 0, "its listener's own rate");
  assert.equal(quotas.acceptThrottleMs("CLIENT", 5_000), 0, "the windows have passed");
  const unlimited = new ConnectionQuotas({ maxConnections: 100, maxConnectionsPerIp: 100 });
  for (let i = 0; i < 100; i++) assert.equal(unlimited.acceptThrottleMs("CLIENT", i), 0);
});

Deno.test("over max.connection.creation.rate the listener serves a new connection only after the throttle", async () => {
  const quotas = new ConnectionQuotas({
    maxConnections: 100,
    maxConnectionsPerIp: 100,
    connectionCreationRate: () => ({ listener: null, node: 1.5 }),
    rateWindows: { windowCount: 2, windowSizeMs: 1000 },
  });
  await afterFirstConnection(quotas, async (second) => {
    const startMs = performance.now();
    assert.ok(await answers(second, 5_000), "the second is served, later");
    assert.ok(performance.now() - startMs >= 200, "held back by the acceptor's throttle");
  });
});
