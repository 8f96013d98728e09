/**
 * A kraftling node composed from `process.roles`: the raft replica of `__cluster_metadata`, the
 * controller (active while the replica leads) and the broker, each with real I/O. `main.ts`'s
 * `server-start` and `mod.ts`'s embedding both call {@link startNode}.
 *
 * @module
 */

import type { ServerConfig } from "../core/config/server_config.ts";
import type { Logger } from "../core/log.ts";
import { checkStorageFormatted } from "../storage/meta_properties.ts";
import { openFilesLimitWarning } from "../storage/fd_limit.ts";
import { lockDirectories } from "../storage/dir_lock.ts";
import { composeGuards, Dispatcher } from "../net/dispatcher.ts";
import { KafkaServer } from "../net/server.ts";
import { decryptListenerKeys, interBrokerConnectTls, loadListenerTls } from "./listener_tls.ts";
import { imageScramLookup, saslAuthenticatorFor } from "./listener_sasl.ts";
import { registerSaslHandlers } from "../net/handlers/sasl_authenticator.ts";
import type { ScramCredentialLookup } from "../core/security/scram.ts";
import { ApiKey } from "../net/protocol/generated/api_table.ts";
import type { DescribeQuorumRequest } from "../net/protocol/generated/describe_quorum_request.ts";
import type { DescribeQuorumResponse } from "../net/protocol/generated/describe_quorum_response.ts";
import {
  describeQuorumResponse,
  type RaftEndpoint,
  registerRaftHandlers,
  registerVoterChangeHandlers,
} from "../net/handlers/raft_rpcs.ts";
import { bootstrapNodeId, KafkaRaftTransport } from "./raft_transport.ts";
import { MetadataLog } from "./metadata_log.ts";
import { imagePayloads, MetadataState } from "./metadata_state.ts";
import type { MetadataImage } from "../core/metadata/image.ts";
import { brokerConfigLayers, layeredValue } from "../core/config/config_layers.ts";
import { INT_MAX } from "../core/config/config_def.ts";
import { KRAFT_VERSION_FEATURE } from "../core/metadata/records.ts";
import {
  type MetadataRecord,
  MetadataRecordType,
} from "../net/protocol/generated/metadata_records.ts";
import { RaftDriver } from "./raft_driver.ts";
import { Controller } from "./controller.ts";
import { ControllerChannel } from "./controller_channel.ts";
import { BrokerLifecycle, SUPPORTED_FEATURES } from "./broker_lifecycle.ts";
import type { BrokerContext } from "./broker_context.ts";
import { registerMetadata } from "../net/handlers/metadata.ts";
import { registerDescribeTopicPartitions } from "../net/handlers/describe_topic_partitions.ts";
import { type ConnectionLimits, ConnectionQuotas } from "../net/connection_quotas.ts";
import { registerForwardedApis } from "../net/handlers/forward.ts";
import { registerAclApis, registerDescribeAcls } from "../net/handlers/acls.ts";
import {
  mutationQuotaGuard,
  quotaThrottle,
  registerClientQuotaApis,
} from "../net/handlers/client_quotas.ts";
import {
  ClientQuotaEnforcer,
  ipConnectionRate,
  MutationQuotaEnforcer,
} from "../core/quota/client_quotas.ts";
import { authorizationGuard } from "../net/handlers/authorization.ts";
import { authorizationFor } from "./authorization.ts";
import { registerDescribeConfigs } from "../net/handlers/describe_configs.ts";
import { EndpointType, registerDescribeCluster } from "../net/handlers/describe_cluster.ts";
import { controllerConfigHooks } from "../net/handlers/config_validation.ts";
import { createLogger } from "./logger.ts";
import { ReplicaManager } from "./replica_manager.ts";
import { GroupManager } from "./group_manager.ts";
import { TxnManager } from "./txn_manager.ts";
import { txnStateLogStore } from "./txn_log_store.ts";
import { offsetsLogStore } from "./group_log_store.ts";
import type { FeatureInfo } from "../net/dispatcher.ts";
import { bindNodeHttp, type NodeHttp } from "./http_server.ts";
import type { BrokerMetricsSource } from "./node_metrics.ts";
import { RequestMetrics } from "./request_metrics.ts";
import { FrameBufferPool } from "../net/frame_reader.ts";
import type { ConsoleBroker } from "./console/console.ts";
import { inProcessCaller } from "./console/in_process.ts";
import { RemoteEndOffsets } from "./remote_end_offsets.ts";
import { RemoteGroups } from "./remote_groups.ts";
import { type ControllerConnectTls, loadControllerConnectTls } from "./controller_tls.ts";

/** Free Fetch read buffers a node keeps for reuse (see `KafkaServerOptions.responseBuffers`). */
const RESPONSE_BUFFERS_BYTES_MAX = 64 * 1024 * 1024;

/** Options for {@link startNode}. */
export interface StartNodeOptions {
  /** Where log lines go (default: stderr at info level). */
  logger?: Logger;
  /**
   * Called when the broker must stop at once because its log dirs failed (KIP-858), where Kafka
   * halts the process (`server-start` exits with code 1). Default, for a node embedded in another
   * program: log the reason and stop the node.
   */
  onFatal?: (reason: string) => void;
}

/** A running node. */
export interface KraftlingNode {
  readonly config: ServerConfig;
  readonly clusterId: string;
  /** Bound ports by listener name. */
  readonly ports: ReadonlyMap<string, number>;
  /** The bound `kraftling.http.listener` port, or null when it is off. */
  readonly httpPort: number | null;
  /** Graceful shutdown: controlled shutdown, finish in-flight requests, flush, close. */
  stop(): Promise<void>;
}

/** One log line per topic created or deleted (not per partition or config record). */
function logTopicChanges(
  logger: Logger,
  image: MetadataImage,
  records: readonly MetadataRecord[],
  previous: MetadataImage,
): void {
  for (const record of records) {
    if (record.type === MetadataRecordType.TOPIC) {
      const topic = image.topics.byId.get(record.data.topicId);
      logger.info(
        `Created topic ${record.data.name} (id ${record.data.topicId}) with ${
          topic?.partitions.size ?? 0
        } partitions`,
      );
    } else if (record.type === MetadataRecordType.REMOVE_TOPIC) {
      const name = previous.topics.byId.get(record.data.topicId)?.name ?? record.data.topicId;
      logger.info(`Deleted topic ${name}`);
    }
  }
}

/**
 * Starts a node from a validated config. Refuses unformatted or mismatched storage with an error
 * naming the `storage format` command to run. Resolves once every listener accepts connections
 * (for brokers: once the controller has unfenced this broker).
 *
 * @example
 * ```ts ignore
 * import { startNode } from "./node.ts";
 * const node = await startNode(config);
 * await node.stop();
 * ```
 */
export async function startNode(
  config: ServerConfig,
  options: StartNodeOptions = {},
): Promise<KraftlingNode> {
  const logger = options.logger ?? createLogger(`KafkaNode id=${config.nodeId}`);
  const check = await checkStorageFormatted(config);
  if (!check.ok) throw new Error(check.error);
  // Like Kafka's .lock files: a second process on the same directories must fail before it
  // touches the logs or quorum-state (Kafka's raft manager locks its directory before the socket
  // server binds, so a second copy of a running node reports the directory, not the port).
  // Released when this node stops (or by the OS on kill -9).
  for (const dir of check.failedLogDirs) {
    logger.error(`Log directory ${dir} cannot be read: starting without it (KIP-112)`);
  }
  const locks = await lockDirectories(
    [...config.logDirs, config.metadataLogDir].filter((d) => !check.failedLogDirs.includes(d)),
  );
  // Then every listener is bound before anything starts, as Kafka's SocketServer binds its
  // acceptors first: a port in use fails the start at once, not after an election and a
  // registration. Connections wait in the backlog until each listener's handlers are ready.
  let listeners: Map<string, BoundListener>;
  let http: NodeHttp | null = null;
  // Assigned once metadata exists, after the listeners (which read it) are bound.
  // deno-lint-ignore prefer-const
  let imageForQuotas: (() => MetadataImage) | undefined;
  // TLS (and client certificate) for raft and the controller channel, read before any bind.
  let controllerTls: ControllerConnectTls | undefined;
  const requestMetrics = new RequestMetrics();
  // Fetch reads land in these buffers and every listener gives them back after writing the answer.
  const responseBuffers = new FrameBufferPool(RESPONSE_BUFFERS_BYTES_MAX);
  try {
    // IP quotas (connection_creation_rate) live in the image, which exists once metadata loads.
    // ssl.key.password: encrypted key stores are decrypted (WebCrypto) before any port is bound.
    const decryptedKeys = await decryptListenerKeys(config.listenerTls);
    controllerTls = await loadControllerConnectTls(config);
    listeners = bindListeners(
      config,
      logger,
      requestMetrics,
      {
        ipConnectionRate: (ip: string) => {
          const image = imageForQuotas?.();
          return image === undefined ? null : ipConnectionRate(image.clientQuotas.values(), ip);
        },
        connectionCreationRate: (listenerName: string) =>
          connectionCreationRates(config, imageForQuotas?.(), listenerName),
      },
      decryptedKeys,
      responseBuffers,
    );
    if (config.httpListener !== null) http = bindNodeHttp(config.httpListener, logger);
  } catch (error) {
    // A failing bindListeners closes what it bound; a failing HTTP bind leaves the others bound.
    const bound = [...(listeners! ?? new Map<string, BoundListener>()).values()];
    await Promise.all(bound.map((l) => l.server.stop(0)));
    locks.release();
    throw error;
  }
  const closeUnstarted = () =>
    Promise.all(
      [...listeners.values()].filter((l) => !l.started).map((l) => l.server.stop(0)),
    ).then(() => {});
  const clusterId = check.clusterId;
  const metadata = new MetadataState(logger);
  imageForQuotas = () => metadata.image;
  // Replaying the snapshot and log at start-up would repeat every old topic: log changes once live.
  let live = false;
  metadata.subscribe((image, records, previous) => {
    if (live) logTopicChanges(logger, image, records, previous);
  });
  const stack: (() => Promise<void> | void)[] = [() => locks.release(), closeUnstarted];
  if (http !== null) stack.push(() => http.stop());
  const stopAll = async () => {
    for (const stop of stack.reverse()) {
      try {
        await stop();
      } catch (error) {
        logger.warn(`Shutdown step failed: ${(error as Error).message}`);
      }
    }
    stack.length = 0;
  };
  try {
    const metadataLog = await MetadataLog.open(config.metadataLogDir, logger, {
      retentionBytes: config.metadataMaxRetentionBytes,
      retentionMs: config.metadataMaxRetentionMs,
    });
    let lifecycle: BrokerLifecycle | undefined;
    let brokerMetrics: BrokerMetricsSource | undefined;
    let brokerConsole: ConsoleBroker | undefined;
    // The controller is built before the raft driver it proposes to (the driver's listener needs it).
    const raftRef: { driver?: RaftDriver } = {};
    const controller = config.isController
      ? new Controller({
        nodeId: config.nodeId,
        metadataLogDir: config.metadataLogDir,
        config: {
          clusterId,
          defaultNumPartitions: config.numPartitions,
          defaultReplicationFactor: config.defaultReplicationFactor,
          brokerSessionTimeoutMs: config.brokerSessionTimeoutMs,
          nodeId: config.nodeId,
          autoLeaderRebalanceEnable: config.autoLeaderRebalanceEnable,
          leaderImbalanceCheckIntervalMs: config.leaderImbalanceCheckIntervalMs,
          leaderImbalancePerBrokerPercentage: config.leaderImbalancePerBrokerPercentage,
          uncleanLeaderElectionIntervalMs: config.uncleanLeaderElectionIntervalMs,
          supportedFeatures: new Map(
            SUPPORTED_FEATURES.map((f) => [f.name, { min: f.minVersion, max: f.maxVersion }]),
          ),
          ...controllerConfigHooks(config),
        },
        raft: () => raftRef.driver!,
        metadata,
        logger,
        localIncarnationId: () => lifecycle?.incarnationId ?? null,
      })
      : undefined;
    await controller?.start();
    const controllerListenerName = config.controllerListenerNames[0] ?? "CONTROLLER";
    const staticVoterEndpoints = config.quorumVoters.map((v) => ({
      nodeId: v.nodeId,
      host: v.host || "127.0.0.1",
      port: v.port,
    }));
    // KIP-853: with controller.quorum.bootstrap.servers the voters (and their endpoints) come
    // from the log and snapshots, and follow every VotersRecord.
    const directoryId = check.directoryIds.get(config.metadataLogDir);
    // Observers without static voters reach the quorum through the bootstrap servers (-2, -3, ...).
    const raftVoters = config.quorumVoters.length > 0
      ? config.quorumVoters.map((v) => v.nodeId)
      : config.quorumBootstrapServers.map((_, i) => bootstrapNodeId(i));
    const raftTransport = new KafkaRaftTransport({
      nodeId: config.nodeId,
      directoryId,
      clusterId,
      voters: staticVoterEndpoints,
      bootstrapServers: config.quorumBootstrapServers.map((s) => ({
        host: s.host || "127.0.0.1",
        port: s.port,
      })),
      listenerName: controllerListenerName,
      requestTimeoutMs: config.quorumRequestTimeoutMs,
      logger,
      sasl: config.controllerSasl ?? undefined,
      tls: controllerTls,
    });
    const raftDriver = await RaftDriver.start({
      nodeId: config.nodeId,
      directoryId,
      voters: raftVoters,
      transport: raftTransport,
      metadataLogDir: config.metadataLogDir,
      log: metadataLog,
      config: {
        electionTimeoutMs: config.quorumElectionTimeoutMs,
        fetchTimeoutMs: config.quorumFetchTimeoutMs,
        electionBackoffMaxMs: config.quorumElectionBackoffMaxMs,
        requestTimeoutMs: config.quorumRequestTimeoutMs,
        appendLingerMs: config.quorumAppendLingerMs,
        retryBackoffMs: config.quorumRetryBackoffMs,
      },
      logger,
      snapshotPolicy: {
        maxRecordBytesBetweenSnapshots: config.metadataLogMaxRecordBytesBetweenSnapshots,
        maxSnapshotIntervalMs: config.metadataLogMaxSnapshotIntervalMs,
      },
      listener: {
        onCommitted: (entries) => metadata.applyEntries(entries),
        // KIP-630: snapshots hold the applied image as records; loading one replaces the image.
        // Both run in slices: the image is captured and encoded while the file is written, and
        // a loaded snapshot is decoded and applied a slice at a time.
        snapshotPayloads: () => imagePayloads(metadata.image),
        onSnapshotLoaded: (contents, snapshotId) =>
          metadata.loadSnapshotPayloads(contents.payloads, snapshotId.offset - 1),
        onRoleChange: (change) => {
          logger.info(
            `Raft role ${change.role} in epoch ${change.epoch} (leader ${change.leaderId})`,
          );
          controller?.onRoleChange(change);
        },
      },
    });
    raftRef.driver = raftDriver;
    /** The current voters' controller endpoints (static, or from the log's VotersRecord). */
    const voterEndpoints = (): RaftEndpoint[] => {
      if (staticVoterEndpoints.length > 0) return staticVoterEndpoints;
      const voters = raftDriver.voters;
      return raftTransport.voterEndpoints().filter((e) => voters.has(e.nodeId));
    };
    stack.push(() => raftDriver.stop());
    if (controller) stack.push(() => controller.stop());

    const features = (): FeatureInfo => ({
      supported: SUPPORTED_FEATURES.map((f) => ({ ...f })),
      finalized: finalizedFeatures(metadata.image.features, raftDriver.kraftVersion),
      finalizedEpoch: BigInt(Math.max(-1, metadata.appliedOffset)),
    });
    const describeQuorum = (): DescribeQuorumResponse =>
      describeQuorumResponse({
        status: raftDriver,
        progress: raftTransport.replicaProgress(),
        voterEndpoints: voterEndpoints(),
        listenerName: controllerListenerName,
        nowMs: Date.now(),
      });

    const ports = new Map<string, number>();
    const startServer = (listenerName: string, host: string, dispatcher: Dispatcher) => {
      const listener = listeners.get(listenerName)!;
      listener.route.dispatcher = dispatcher;
      listener.route.scram = imageScramLookup(() => metadata.image);
      registerSaslHandlers(dispatcher, {
        scramImage: config.controllerListenerNames.includes(listenerName)
          ? undefined
          : () => metadata.image,
      });
      listener.started = true;
      listener.server.start();
      ports.set(listenerName, listener.server.port);
      logger.info(`Listening for ${listenerName} on ${host || "0.0.0.0"}:${listener.server.port}`);
      stack.push(() => listener.server.stop());
    };

    // authorizer.class.name: every listener checks each request against the image's ACLs.
    const authorization = authorizationFor(config, metadata);
    const aclAccess = {
      enabled: authorization !== null,
      acls: () => metadata.image.acls.values(),
    };
    if (controller) {
      const dispatcher = new Dispatcher({ logger, features });
      if (authorization !== null) dispatcher.setGuard(authorizationGuard(authorization));
      controller.registerHandlers(dispatcher);
      registerDescribeAcls(dispatcher, aclAccess);
      registerRaftHandlers(dispatcher, {
        exchange: raftTransport,
        clusterId,
        requestTimeoutMs: config.quorumRequestTimeoutMs,
        listenerName: controllerListenerName,
      });
      registerVoterChangeHandlers(dispatcher, {
        changer: raftDriver,
        exchange: raftTransport,
        clusterId,
        listenerName: controllerListenerName,
        logger,
      });
      dispatcher.register(ApiKey.DESCRIBE_QUORUM, {
        minVersion: 0,
        maxVersion: 2,
        handle: () => describeQuorum(),
      });
      // KIP-919: tools with --bootstrap-controller learn the cluster id here.
      registerDescribeCluster(dispatcher, { clusterId, metadata }, {
        controllerId: () => raftDriver.leaderId,
        endpointType: EndpointType.CONTROLLER,
      });
      for (const l of config.controllerListeners) {
        startServer(l.listenerName, l.host, dispatcher);
      }
    }

    if (config.isBroker) {
      const channel = new ControllerChannel({
        endpoints: () => {
          // The voters, plus the leader's endpoint when it was learned from the quorum.
          const voters = voterEndpoints();
          const leader = raftTransport.endpointOf(raftDriver.leaderId);
          return leader && !voters.some((v) => v.nodeId === leader.nodeId)
            ? [leader, ...voters]
            : voters;
        },
        leaderId: () => raftDriver.leaderId,
        clientId: `broker-${config.nodeId}-to-controller`,
        sasl: config.controllerSasl ?? undefined,
        tls: controllerTls,
        logger,
        timeoutMs: config.quorumRequestTimeoutMs * 5,
      });
      stack.push(() => channel.close());
      // Kafka halts here (Exit.halt): nothing this broker would still write can be trusted.
      const halt = options.onFatal ?? ((reason: string) => {
        logger.error(`${reason} Stopping the node.`);
        void stopAll();
      });
      lifecycle = new BrokerLifecycle({
        config,
        clusterId,
        directoryIds: [...check.directoryIds.values()],
        controller: channel,
        metadata,
        logger,
        onFatal: halt,
      });
      const ctx: BrokerContext = {
        config,
        logger,
        nodeId: config.nodeId,
        clusterId,
        metadata,
        controller: channel,
        brokerEpoch: () => lifecycle!.brokerEpoch,
      };
      const dispatcher = new Dispatcher({ logger, features });
      // Authorization first, then the controller mutation quota on what it let through.
      dispatcher.setGuard(composeGuards([
        ...(authorization !== null ? [authorizationGuard(authorization)] : []),
        mutationQuotaGuard(
          () => metadata.image.clientQuotas,
          new MutationQuotaEnforcer({
            windowCount: config.quotaWindowCount,
            windowSizeMs: config.quotaWindowSizeMs,
          }),
          {
            defaultPartitions: () => config.numPartitions,
            partitionsOf: (t) => {
              const topics = metadata.image.topics;
              const topic = (t.name ? topics.byName.get(t.name) : undefined) ??
                (t.topicId ? topics.byId.get(t.topicId) : undefined);
              return topic?.partitions.size ?? 0;
            },
          },
        ),
      ]));
      registerMetadata(dispatcher, ctx);
      registerDescribeTopicPartitions(dispatcher, ctx);
      registerForwardedApis(dispatcher, ctx);
      registerClientQuotaApis(dispatcher, {
        quotas: () => metadata.image.clientQuotas.values(),
        forward: (apiKey, request, version) =>
          channel.send(apiKey, request as Record<string, unknown>, { version }),
      });
      // Client quotas (producer/consumer byte rates, request time) throttle every client request.
      dispatcher.setThrottle(
        quotaThrottle(
          () => metadata.image.clientQuotas,
          new ClientQuotaEnforcer({
            windowCount: config.quotaWindowCount,
            windowSizeMs: config.quotaWindowSizeMs,
          }),
        ),
      );
      registerAclApis(dispatcher, {
        ...aclAccess,
        forward: (apiKey, request, version) =>
          channel.send(apiKey, request as Record<string, unknown>, { version }),
      });
      registerDescribeConfigs(dispatcher, ctx);
      // KRaft brokers name a live broker (themselves) as the controller: clients send admin requests there.
      registerDescribeCluster(dispatcher, ctx, { controllerId: () => config.nodeId });
      // Like Kafka's brokers: DescribeQuorum is answered by the raft leader (the active controller).
      dispatcher.register<DescribeQuorumRequest, DescribeQuorumResponse>(ApiKey.DESCRIBE_QUORUM, {
        minVersion: 0,
        maxVersion: 2,
        handle: (request, context) =>
          raftDriver.leaderId === config.nodeId ? describeQuorum() : channel.send<
            DescribeQuorumResponse
          >(ApiKey.DESCRIBE_QUORUM, request as unknown as Record<string, unknown>, {
            version: context.apiVersion,
          }),
      });
      const brokerLifecycleRef = lifecycle;
      const replicas = new ReplicaManager(ctx, {
        directoryIds: check.directoryIds,
        failedLogDirs: check.failedLogDirs,
        onLogDirFailure: ({ directoryId }) => {
          if (directoryId !== null) brokerLifecycleRef.reportOfflineDir(directoryId);
        },
        onFatal: halt,
        readBuffers: responseBuffers,
      });
      replicas.registerHandlers(dispatcher);
      const groups = new GroupManager(ctx, offsetsLogStore(replicas));
      // Lag of partitions other brokers lead: their high watermarks, fetched every few seconds.
      const remoteEnds = new RemoteEndOffsets(config, logger);
      stack.push(() => remoteEnds.close());
      const remoteEndOffset = (topic: string, partition: number) =>
        remoteEnds.endOffset(topic, partition);
      brokerMetrics = { replicas, groups, remoteEndOffset };
      // The overview lists the groups other brokers coordinate too (refreshed in the background).
      const remoteGroups = new RemoteGroups(config, logger, {
        isLocal: (groupId) =>
          groups.listGroups({ statesFilter: [] }).groups.some((g) => g.groupId === groupId),
        endOffset: (topic, partition) => {
          const hosted = replicas.hostedPartition(topic, partition);
          return hosted?.isLeader ? hosted.highWatermark : remoteEnds.endOffset(topic, partition);
        },
      });
      stack.push(() => remoteGroups.close());
      brokerConsole = {
        remoteEndOffset,
        remoteGroups: () => remoteGroups.summaries(),
        hostedPartition: (topic, partition) => replicas.hostedPartition(topic, partition),
        groups,
        call: inProcessCaller(dispatcher),
        throughput: () => ({ ...replicas.topicStats.all }),
      };
      groups.registerHandlers(dispatcher);
      const txns = new TxnManager(ctx, txnStateLogStore(replicas), {
        allocateProducerId: () => replicas.allocateProducerId(),
        offsetsPartitionFor: (groupId) => groups.partitionFor(groupId),
      });
      txns.registerHandlers(dispatcher, { groups, replicas });
      // A marker on __consumer_offsets ends the producer's TxnOffsetCommit offsets there.
      replicas.onTxnMarker(({ partition, producerId, commit }) =>
        groups.completeTransaction(partition, BigInt(producerId), commit)
      );
      const brokerLifecycle = lifecycle;
      await brokerLifecycle.start();
      stack.push(() => brokerLifecycle.shutdown());
      // Only once caught up: the replica manager deletes local logs the image does not assign here.
      await replicas.start();
      stack.push(() => replicas.close());
      const fdWarning = openFilesLimitWarning({ partitions: replicas.partitions().length });
      if (fdWarning !== null) logger.warn(fdWarning);
      await groups.start();
      stack.push(() => groups.close());
      txns.start();
      stack.push(() => txns.close());
      const brokerListeners = config.listeners.filter(
        (l) => !config.controllerListenerNames.includes(l.listenerName),
      );
      for (const l of brokerListeners) startServer(l.listenerName, l.host, dispatcher);
    }

    live = true;
    http?.attach(
      {
        image: () => metadata.image,
        requestCounts: () =>
          [...new Set([...listeners.values()].map((l) => l.route.dispatcher))]
            .flatMap((d) => d === undefined ? [] : [d.requestCounts]),
        connections: () =>
          new Map([...listeners].map(([name, l]) => [name, l.server.connectionCount])),
        raft: raftDriver,
        controller,
        broker: brokerMetrics,
        memory: () => Deno.memoryUsage(),
        requests: requestMetrics,
      },
      () =>
        raftDriver.leaderId < 0
          ? "no quorum leader is known"
          : lifecycle?.fenced
          ? "the broker is fenced"
          : null,
      {
        nodeId: config.nodeId,
        clusterId,
        roles: [...config.processRoles],
        image: () => metadata.image,
        raft: raftDriver,
        voterIds: () => [...raftDriver.voters].sort((a, b) => a - b),
        describeQuorum: () => raftDriver.leaderId === config.nodeId ? describeQuorum() : null,
        broker: brokerConsole,
        nowMs: () => Date.now(),
      },
    );
    logger.info(`Kafka node ${config.nodeId} started (cluster ${clusterId})`);
    return { config, clusterId, ports, httpPort: http?.port ?? null, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** A listener bound at start-up; `route` gets its dispatcher before it starts accepting. */
interface BoundListener {
  readonly server: KafkaServer;
  readonly route: { dispatcher?: Dispatcher; scram?: ScramCredentialLookup };
  started: boolean;
}

/**
 * The one-line start-up error for a listener that cannot bind, naming the config key it comes
 * from (Kafka: "Socket server failed to bind to host:port: Address already in use").
 *
 * @example
 * ```ts
 * import { listenerBindError } from "./node.ts";
 * listenerBindError({ listenerName: "PLAINTEXT", host: "", port: 9092 }, ["CONTROLLER"], "Address in use");
 * // "Cannot bind 0.0.0.0:9092 for listener PLAINTEXT (config 'listeners'): Address in use"
 * ```
 */
export function listenerBindError(
  endpoint: { listenerName: string; host: string; port: number },
  controllerListenerNames: readonly string[],
  reason: string,
): string {
  const key = controllerListenerNames.includes(endpoint.listenerName)
    ? "'listeners', the controller listener named by 'controller.listener.names'"
    : "'listeners'";
  return `Cannot bind ${
    endpoint.host || "0.0.0.0"
  }:${endpoint.port} for listener ${endpoint.listenerName} (config ${key}): ${reason}`;
}

/**
 * `max.connection.creation.rate` of a listener (`listener.name.<l>.` in server.properties) and of
 * the node (this broker's dynamic value, the cluster default, server.properties); Kafka's
 * Integer.MAX_VALUE default, or no value, is no limit (null).
 */
function connectionCreationRates(
  config: ServerConfig,
  image: MetadataImage | undefined,
  listenerName: string,
): { listener: number | null; node: number | null } {
  const bounded = (text: string | undefined) => {
    const n = Number(text);
    return text === undefined || !Number.isFinite(n) || n >= INT_MAX ? null : n;
  };
  const key = "max.connection.creation.rate";
  const listener = config.originals.get(`listener.name.${listenerName.toLowerCase()}.${key}`);
  const layers = brokerConfigLayers(image, config.nodeId, config.originals);
  return { listener: bounded(listener), node: bounded(layeredValue(layers, key)) };
}

/** Binds every listener this node's roles serve; on a failure, closes the others and throws. */
function bindListeners(
  config: ServerConfig,
  logger: Logger,
  requestMetrics: RequestMetrics,
  rates: Pick<ConnectionLimits, "ipConnectionRate" | "connectionCreationRate">,
  decryptedKeys: ReadonlyMap<string, string>,
  responseBuffers: FrameBufferPool,
): Map<string, BoundListener> {
  const endpoints = [
    ...(config.isController ? config.controllerListeners : []),
    ...(config.isBroker
      ? config.listeners.filter((l) => !config.controllerListenerNames.includes(l.listenerName))
      : []),
  ];
  // Key stores are read before any port is bound, so a bad one leaves nothing to close.
  const keyMaterial = new Map(
    [...config.listenerTls].map((
      [name, tls],
    ) => [name, loadListenerTls(tls, decryptedKeys.get(name))]),
  );
  if (config.isBroker) interBrokerConnectTls(config); // a bad trust store fails the start, not a fetch

  const bound = new Map<string, BoundListener>();
  // max.connections / max.connections.per.ip count every listener of this node together.
  const quotas = new ConnectionQuotas({
    maxConnections: config.maxConnections,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    perIpOverrides: config.maxConnectionsPerIpOverrides,
    interBrokerListener: config.interBrokerListenerName,
    ...rates,
    ipQuotaExemptListeners: [config.interBrokerListenerName, ...config.controllerListenerNames],
    rateWindows: { windowCount: config.quotaWindowCount, windowSizeMs: config.quotaWindowSizeMs },
  });
  for (const endpoint of endpoints) {
    const route: { dispatcher?: Dispatcher; scram?: ScramCredentialLookup } = {};
    const tls = keyMaterial.get(endpoint.listenerName);
    const server = new KafkaServer({
      listenerName: endpoint.listenerName,
      hostname: endpoint.host === "" ? "0.0.0.0" : endpoint.host,
      port: endpoint.port,
      handler: requestMetrics.instrument(
        endpoint.listenerName,
        (frame, info) => route.dispatcher!.handleFrameChunks(frame, info),
      ),
      releasesFrame: (frame) => route.dispatcher?.releasesFrame(frame) ?? false,
      responseBuffers,
      logger,
      frameBytesMax: config.socketRequestMaxBytes,
      inFlightMax: Math.max(1, Math.min(config.queuedMaxRequests, 500)),
      quotas,
      idleTimeoutMs: config.connectionsMaxIdleMs,
      tls,
      authenticator: saslAuthenticatorFor(config, endpoint.listenerName, logger, route),
    });
    try {
      server.bind();
    } catch (error) {
      for (const other of bound.values()) void other.server.stop(0);
      const cause = (error as Error).cause;
      const reason = cause instanceof Deno.errors.AddrInUse
        ? "the port is already in use"
        : ((cause ?? error) as Error).message;
      throw new Error(listenerBindError(endpoint, config.controllerListenerNames, reason));
    }
    bound.set(endpoint.listenerName, { server, route, started: false });
  }
  return bound;
}

/**
 * The finalized features of ApiVersions: the image's, plus `kraft.version` from the raft layer
 * (the log's KRaftVersion record, KIP-853) when above 0, as Kafka's KRaftMetadataCache reports
 * it; that is how `features describe` tells a dynamic quorum from a static one.
 *
 * @example
 * ```ts ignore
 * finalizedFeatures(new Map([["metadata.version", 21]]), 1); // metadata.version 21, kraft.version 1
 * ```
 */
export function finalizedFeatures(
  image: ReadonlyMap<string, number>,
  kraftVersion: number,
): FeatureInfo["finalized"] {
  const levels = new Map(image);
  if (kraftVersion > 0) levels.set(KRAFT_VERSION_FEATURE, kraftVersion);
  return [...levels].map(([name, level]) => ({
    name,
    minVersionLevel: level,
    maxVersionLevel: level,
  }));
}
