// KIP-858: a broker reports a failed log dir to the controller in BrokerHeartbeat.
import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { parseServerConfig } from "../core/config/server_config.ts";
import { silentLogger } from "../core/log.ts";
import { ApiKey } from "../net/protocol/generated/api_table.ts";
import { BrokerLifecycle } from "./broker_lifecycle.ts";
import type { ControllerChannel } from "./controller_channel.ts";
import { MetadataState } from "./metadata_state.ts";

const DIR_A = "ZGlyLWEtMDAwMDAwMDAwMA";
const DIR_B = "ZGlyLWItMDAwMDAwMDAwMA";

/** A broker lifecycle against a fake controller that answers (or fails) heartbeats. */
function lifecycleWith(
  props: Record<string, string>,
  heartbeat: (offlineLogDirs: string[]) => Promise<unknown>,
  onFatal?: (reason: string) => void,
) {
  const { config } = parseServerConfig(
    new Map([
      ["process.roles", "broker"],
      ["node.id", "1"],
      ["controller.quorum.voters", "0@localhost:9093"],
      ["controller.listener.names", "CONTROLLER"],
      ["listeners", "PLAINTEXT://localhost:9092"],
      ...Object.entries(props),
    ]),
  );
  const controller = {
    send: (apiKey: number, body: { offlineLogDirs?: string[]; wantShutDown?: boolean }) => {
      if (apiKey === ApiKey.BROKER_REGISTRATION) {
        return Promise.resolve({ errorCode: 0, brokerEpoch: 5n });
      }
      if (body.wantShutDown) return Promise.resolve({ errorCode: 0, shouldShutDown: true });
      return heartbeat(body.offlineLogDirs ?? []);
    },
  } as unknown as ControllerChannel;
  return new BrokerLifecycle({
    config,
    clusterId: "MkU3OEVBNTcwNTJENDM2Qg",
    directoryIds: [DIR_A, DIR_B],
    controller,
    metadata: new MetadataState(silentLogger),
    logger: silentLogger,
    onFatal,
  });
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

Deno.test("a failed log dir is reported in a heartbeat at once, not at the next interval", async () => {
  const seen: string[][] = [];
  const lifecycle = lifecycleWith({
    "broker.heartbeat.interval.ms": "60000",
    "broker.session.timeout.ms": "120000",
  }, (dirs) => {
    seen.push(dirs);
    return Promise.resolve({ errorCode: 0, isCaughtUp: true, isFenced: false });
  });
  try {
    await lifecycle.start();
    const before = seen.length;
    // The regular heartbeat is a minute away: the report must not wait for it.
    lifecycle.reportOfflineDir(DIR_B);
    await until(() => seen.length > before, "a heartbeat leaves", 2_000);
    assertEquals(seen.at(-1), [DIR_B]);
    assertEquals(lifecycle.offlineDirs, [DIR_B]);
    lifecycle.reportOfflineDir(DIR_B); // the same dir again changes nothing
    assertEquals(lifecycle.offlineDirs, [DIR_B]);
  } finally {
    await lifecycle.shutdown(1_000);
  }
});

Deno.test("a failed log dir the controller never hears of stops the broker after log.dir.failure.timeout.ms", async () => {
  const fatal: string[] = [];
  let reachable = true;
  const lifecycle = lifecycleWith(
    { "broker.heartbeat.interval.ms": "50", "log.dir.failure.timeout.ms": "300" },
    () =>
      reachable
        ? Promise.resolve({ errorCode: 0, isCaughtUp: true, isFenced: false })
        : Promise.reject(new Error("The controller did not answer")),
    (reason) => fatal.push(reason),
  );
  try {
    await lifecycle.start();
    reachable = false;
    lifecycle.reportOfflineDir(DIR_A);
    await until(() => fatal.length > 0, "the broker is told to stop", 3_000);
    assert(fatal[0]!.includes("log.dir.failure.timeout.ms"), fatal[0]);
  } finally {
    await lifecycle.shutdown(200);
  }
});

Deno.test("every later heartbeat carries the failed dir, and an answered one stands down the timeout", async () => {
  const fatal: string[] = [];
  const seen: string[][] = [];
  const lifecycle = lifecycleWith(
    { "broker.heartbeat.interval.ms": "50", "log.dir.failure.timeout.ms": "300" },
    (dirs) => {
      seen.push(dirs);
      return Promise.resolve({ errorCode: 0, isCaughtUp: true, isFenced: false });
    },
    (reason) => fatal.push(reason),
  );
  try {
    await lifecycle.start();
    lifecycle.reportOfflineDir(DIR_A);
    const reportedAt = seen.length;
    await new Promise((resolve) => setTimeout(resolve, 600));
    assertEquals(fatal, []);
    const later = seen.slice(reportedAt);
    assert(later.length >= 3, `${later.length} heartbeats`);
    assert(later.every((dirs) => dirs.includes(DIR_A)), JSON.stringify(later));
  } finally {
    await lifecycle.shutdown(200);
  }
});
