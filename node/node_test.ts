// Start-up order of a node: every listener is bound before storage is read, as Kafka's
// SocketServer binds its acceptors first, so a port in use is the first and only error.
import { equal, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { parseServerConfig } from "../core/config/server_config.ts";
import { silentLogger } from "../core/log.ts";
import { listenerBindError, startNode } from "./node.ts";

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

function portIsFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

function combinedConfig(dir: string, brokerPort: number, controllerPort: number) {
  return parseServerConfig(
    new Map([
      ["process.roles", "broker,controller"],
      ["node.id", "1"],
      ["controller.quorum.voters", `1@127.0.0.1:${controllerPort}`],
      [
        "listeners",
        `PLAINTEXT://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}`,
      ],
      ["controller.listener.names", "CONTROLLER"],
      ["log.dirs", join(dir, "logs")],
    ]),
  ).config;
}

async function withTakenPort(fn: (port: number, dir: string) => Promise<void>): Promise<void> {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const dir = await Deno.makeTempDir({ prefix: "node_test_" });
  try {
    await fn((taken.addr as Deno.NetAddr).port, dir);
  } finally {
    taken.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("a broker port in use fails the start in one line naming the port and 'listeners', before storage is read", async () => {
  await withTakenPort(async (taken, dir) => {
    const controllerPort = freePort();
    // The storage is not even formatted: the port is still the error reported.
    await rejects(
      startNode(combinedConfig(dir, taken, controllerPort), { logger: silentLogger }),
      (error: Error) => {
        equal(
          error.message,
          `Cannot bind 127.0.0.1:${taken} for listener PLAINTEXT (config 'listeners'): the port is already in use`,
        );
        return true;
      },
    );
    ok(portIsFree(controllerPort), "the listener bound before the failure is released");
    const entries = [];
    for await (const entry of Deno.readDir(dir)) entries.push(entry.name);
    equal(entries.length, 0, "nothing was written before the failure");
  });
});

Deno.test("a controller port in use names 'listeners' and 'controller.listener.names'", async () => {
  await withTakenPort(async (taken, dir) => {
    const brokerPort = freePort();
    await rejects(
      startNode(combinedConfig(dir, brokerPort, taken), { logger: silentLogger }),
      (error: Error) => {
        equal(
          error.message,
          `Cannot bind 127.0.0.1:${taken} for listener CONTROLLER (config 'listeners', the ` +
            `controller listener named by 'controller.listener.names'): the port is already in use`,
        );
        ok(!error.message.includes("\n"), "one line");
        return true;
      },
    );
    ok(portIsFree(brokerPort));
  });
});

Deno.test("free ports on unformatted storage fail with the storage error, and the ports are released", async () => {
  const dir = await Deno.makeTempDir({ prefix: "node_test_" });
  try {
    const brokerPort = freePort();
    const controllerPort = freePort();
    await rejects(
      startNode(combinedConfig(dir, brokerPort, controllerPort), { logger: silentLogger }),
      /storage format/,
    );
    ok(portIsFree(brokerPort) && portIsFree(controllerPort));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("listenerBindError names a listener on every interface as 0.0.0.0", () => {
  equal(
    listenerBindError({ listenerName: "EXTERNAL", host: "", port: 19092 }, ["CONTROLLER"], "x"),
    "Cannot bind 0.0.0.0:19092 for listener EXTERNAL (config 'listeners'): x",
  );
});
