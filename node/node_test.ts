// Start-up order of a node: storage is checked and locked, then every listener is bound before
// anything starts (Kafka's SocketServer binds its acceptors first), so a port in use fails the
// start at once, in one line naming the port and the config key.
import { equal, ok, rejects } from "node:assert/strict";
import { join } from "node:path";
import { parseServerConfig } from "../core/config/server_config.ts";
import { silentLogger } from "../core/log.ts";
import { formatNodeStorage } from "../storage/node_format.ts";
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

Deno.test("a broker port in use fails the start in one line naming the port and 'listeners', and releases everything", async () => {
  await withTakenPort(async (taken, dir) => {
    const controllerPort = freePort();
    const config = combinedConfig(dir, taken, controllerPort);
    await formatNodeStorage(config, { clusterId: "XcZZOzUqS4yHOjhMQB6JLQ", nowMs: 0 });
    const startedMs = Date.now();
    await rejects(startNode(config, { logger: silentLogger }), (error: Error) => {
      equal(
        error.message,
        `Cannot bind 127.0.0.1:${taken} for listener PLAINTEXT (config 'listeners'): the port is already in use`,
      );
      return true;
    });
    ok(Date.now() - startedMs < 1_000, "no election or registration ran before the failure");
    ok(portIsFree(controllerPort), "the listener bound before the failure is released");
    // The directory lock is released too: a start on a free port now succeeds.
    const node = await startNode(combinedConfig(dir, freePort(), controllerPort), {
      logger: silentLogger,
    });
    await node.stop();
  });
});

Deno.test("a controller port in use names 'listeners' and 'controller.listener.names'", async () => {
  await withTakenPort(async (taken, dir) => {
    const brokerPort = freePort();
    const config = combinedConfig(dir, brokerPort, taken);
    await formatNodeStorage(config, { clusterId: "XcZZOzUqS4yHOjhMQB6JLQ", nowMs: 0 });
    await rejects(
      startNode(config, { logger: silentLogger }),
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

Deno.test("unformatted storage fails with the storage error and leaves the ports free", async () => {
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
