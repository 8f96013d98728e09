/**
 * The console's admin calls: a Kafka request encoded as a frame and handed to the node's own
 * broker dispatcher, as if it had arrived on a listener, so creating a topic or committing an
 * offset from the console goes through exactly the handlers (and the forwarding to the active
 * controller) that Kafka's admin client reaches. No socket is opened.
 *
 * @module
 */

import type { Dispatcher } from "../../net/dispatcher.ts";
import { API_TABLE } from "../../net/protocol/generated/api_table.ts";
import { readResponseHeader, writeRequestHeader } from "../../net/protocol/header.ts";
import { Reader } from "../../net/protocol/reader.ts";
import { Writer } from "../../net/protocol/writer.ts";

/** Sends one request to the node's broker handlers and resolves with the decoded response. */
export type InProcessCall = <Res>(
  apiKey: number,
  version: number,
  body: Record<string, unknown>,
) => Promise<Res>;

/** The listener name the console's requests carry (logs, request metrics). */
export const CONSOLE_LISTENER_NAME = "CONSOLE";
/** Connection ids far above the sockets' own, so fetch sessions and logs never mix them up. */
const CONNECTION_ID_BASE = 1_000_000_000;

/**
 * An {@link InProcessCall} on `dispatcher`. Fields left out of `body` take the request's
 * defaults, as the network client fills them.
 *
 * @example
 * ```ts ignore
 * const call = inProcessCaller(dispatcher);
 * const r = await call<CreateTopicsResponse>(ApiKey.CREATE_TOPICS, 7, { topics, timeoutMs: 30_000 });
 * ```
 */
export function inProcessCaller(dispatcher: Dispatcher): InProcessCall {
  let next = 0;
  return async <Res>(apiKey: number, version: number, body: Record<string, unknown>) => {
    const api = API_TABLE.get(apiKey);
    if (api === undefined) throw new RangeError(`Unknown api key ${apiKey}`);
    const correlationId = ++next & 0x7fffffff;
    const w = new Writer(256);
    writeRequestHeader(w, {
      requestApiKey: apiKey,
      requestApiVersion: version,
      correlationId,
      clientId: "kraftling-console",
      _unknownTaggedFields: [],
    });
    api.writeRequest(w, version, Object.assign(api.createRequest() as object, body) as never);
    const frame = await dispatcher.handleFrame(w.finish(), {
      listenerName: CONSOLE_LISTENER_NAME,
      clientHost: "/127.0.0.1",
      connectionId: CONNECTION_ID_BASE + correlationId,
    });
    if (frame === null) throw new Error(`${api.name} v${version} got no response`);
    const r = new Reader(frame.subarray(4));
    readResponseHeader(r, apiKey, version);
    return api.readResponse(r, version) as Res;
  };
}
