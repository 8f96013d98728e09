// The web console (issue #14) of a real node, rendered by a real browser: kcat produces (one
// value holding <script>), a confluent-kafka group consumes part and commits, then headless
// Chromium loads the overview (brokers, topics, the group with its lag), the records page (the
// produced records, the <script> shown as text, JSON pretty-printed) and a topic created through
// the console's form; the group's offsets are reset with a dry run first; and /metrics, parsed by
// the strict exposition parser, holds latency histograms per API after the workload. A second test
// drives the pages as a person would, through the DevTools protocol (chromium_cdp.ts): fills the
// create-topic form and presses Create, follows "Browse records" and asks from an offset, previews
// a group's reset and then executes it.
//
// Chromium and kcat are required: when absent the test fails naming the package to install
// (`.ci/run` installs both), it never skips.
import assert from "node:assert/strict";
import { freePort, hasCommand, hasPythonModule, startNode } from "./harness.ts";
import { type ClusterNode, startCluster } from "./cluster_harness.ts";
import { checkCommand } from "./commands.ts";
import { parsePrometheusText } from "../../core/metrics/prometheus_text_parser.ts";
import { launchChromium } from "./chromium_cdp.ts";
import { Admin } from "../../net/client/admin.ts";

const TOPIC = "console-orders";
const GROUP = "console-readers";
const SCRIPT = "<script>alert(1)</script>";
const CHROMIUM_TIMEOUT_MS = 60_000;

/** The DOM Chromium built for `url` after running its scripts for `budgetMs` of virtual time. */
async function renderedDom(url: string, budgetMs = 0): Promise<string> {
  const profile = await Deno.makeTempDir({ prefix: "kraftling-chromium-" });
  try {
    return await checkCommand("chromium", [
      "--headless",
      "--disable-gpu",
      "--no-sandbox",
      "--disable-dev-shm-usage",
      `--user-data-dir=${profile}`,
      ...(budgetMs > 0 ? [`--virtual-time-budget=${budgetMs}`] : []),
      "--dump-dom",
      url,
    ], { timeoutMs: CHROMIUM_TIMEOUT_MS });
  } finally {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

/** Consumes exactly `count` records in group `group` and commits their offsets synchronously. */
const CONSUME_AND_COMMIT = `
import sys
from confluent_kafka import Consumer
bootstrap, topic, group, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "auto.offset.reset": "earliest",
              "enable.auto.commit": False})
c.subscribe([topic])
seen = 0
while seen < count:
    m = c.poll(10.0)
    if m is None:
        raise SystemExit("no record within 10 s")
    if m.error():
        raise SystemExit(str(m.error()))
    seen += 1
    last = m
c.commit(message=last, asynchronous=False)
c.close()
`;

function postForm(base: string, path: string, form: Record<string, string>, origin = base) {
  return fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin },
    body: new URLSearchParams(form).toString(),
  });
}

/** Fails, naming the packages, unless chromium, kcat and python3-confluent-kafka are installed. */
function requireClients(): void {
  const missing = [
    ["chromium", "chromium"],
    ["kcat", "kcat"],
  ].filter(([command]) => !hasCommand(command!)).map(([, pkg]) => pkg);
  if (!hasPythonModule("confluent_kafka")) missing.push("python3-confluent-kafka");
  assert.deepEqual(
    missing,
    [],
    `console_browser_test needs ${missing.join(", ")}: apt-get install -y ${
      missing.join(" ")
    } (.ci/run does)`,
  );
}

Deno.test("the console shows the cluster in Chromium, browses records, creates a topic and resets a group", async () => {
  requireClients();
  const httpPort = freePort();
  const node = await startNode({ props: { "kraftling.http.listener": `127.0.0.1:${httpPort}` } });
  const base = `http://127.0.0.1:${httpPort}`;
  try {
    const lines = [
      "k1:plain text",
      `k2:${SCRIPT}`,
      'k3:{"n":1,"tags":["a"]}',
      "k4:four",
      "k5:five",
    ];
    await checkCommand("kcat", [
      "-P",
      "-b",
      node.bootstrap,
      "-t",
      TOPIC,
      "-K:",
      "-H",
      "source=test",
    ], {
      stdin: lines.join("\n") + "\n",
    });
    await checkCommand("/usr/bin/python3", [
      "-c",
      CONSUME_AND_COMMIT,
      node.bootstrap,
      TOPIC,
      GROUP,
      "2",
    ]);

    // The overview answers "is anything behind?": the group lags by the 3 records not consumed.
    const overview = await renderedDom(`${base}/`);
    assert.match(overview, /Cluster [\w-]+/);
    assert.match(overview, /Leader <strong>node 1<\/strong>/);
    assert.match(overview, /<td>1<\/td><td class="ok">running<\/td>/);
    assert.match(overview, new RegExp(`<a href="/topics/${TOPIC}">${TOPIC}</a>`));
    assert.match(
      overview,
      new RegExp(
        `<a href="/groups/${GROUP}">${GROUP}</a></td><td>Empty</td><td>consumer</td><td class="num">0</td><td class="num warn">3</td>`,
      ),
    );
    assert.match(overview, /1 consumer group with lag/);

    // The script drew the throughput chart: the page's own JavaScript ran and CSP allowed it.
    const live = await renderedDom(`${base}/`, 5_000);
    assert.match(live, /id="throughput-label"[^>]*>in \d+ B\/s, out \d+ B\/s/);

    // Records as the browser shows them: escaped, never executed; JSON pretty-printed.
    const records = await renderedDom(`${base}/topics/${TOPIC}/records?offset=0&count=10`);
    assert.ok(!records.includes(SCRIPT), "a record's <script> reached the DOM as markup");
    assert.match(records, /<pre>&lt;script&gt;alert\(1\)&lt;\/script&gt;<\/pre>/);
    assert.match(records, /<pre>plain text<\/pre>/);
    assert.match(records, /<strong>source<\/strong>: test/);
    const json = await renderedDom(`${base}/topics/${TOPIC}/records?offset=2&count=1&format=json`);
    assert.match(json, /<pre>\{\n {2}"n": 1,\n {2}"tags": \[\n {4}"a"\n {2}\]\n\}<\/pre>/);
    assert.ok(!json.includes("four"), "count=1 shows one record");

    // Creating a topic through the console's form; a cross-site POST is refused.
    const refused = await postForm(base, "/topics", { name: "evil" }, "http://evil.example");
    assert.equal(refused.status, 403);
    await refused.body?.cancel();
    const created = await postForm(base, "/topics", { name: "console-made", partitions: "3" });
    assert.equal(created.status, 201, await created.clone().text());
    assert.match(await created.text(), /Created topic console-made with 3 partitions/);
    const again = await postForm(base, "/topics", { name: "console-made", partitions: "3" });
    assert.equal(again.status, 409);
    await again.body?.cancel();
    const topicPage = await renderedDom(`${base}/topics/console-made`);
    assert.equal(
      topicPage.match(/<tr><td class="num">\d<\/td><td class="num">1<\/td>/g)?.length,
      3,
    );
    const kcatSees = await checkCommand("kcat", ["-L", "-b", node.bootstrap, "-t", "console-made"]);
    assert.match(kcatSees, /topic "console-made" with 3 partitions/);

    // Offset reset: the dry run changes nothing; executing moves the group to the end.
    const dry = await postForm(base, `/groups/${GROUP}/reset`, {
      topic: TOPIC,
      strategy: "to-latest",
      mode: "dry-run",
    });
    assert.equal(dry.status, 200);
    assert.match(
      await dry.text(),
      /Dry run: nothing changed yet[\s\S]*<td class="num">2<\/td><td class="num">5<\/td>/,
    );
    assert.match(
      await renderedDom(`${base}/groups/${GROUP}`),
      /total lag <strong class="warn">3<\/strong>/,
    );
    const run = await postForm(base, `/groups/${GROUP}/reset`, {
      topic: TOPIC,
      strategy: "to-latest",
      mode: "execute",
    });
    assert.equal(run.status, 200, await run.clone().text());
    await run.body?.cancel();
    assert.match(
      await renderedDom(`${base}/groups/${GROUP}`),
      /total lag <strong class="ok">0<\/strong>/,
    );

    // Bad input gets 4xx and the Kafka listener is undisturbed.
    for (
      const [path, status] of [
        ["/topics/nope", 404],
        [`/topics/${TOPIC}/records?partition=7`, 400],
        ["/groups/%ZZ", 400],
      ] as const
    ) {
      const response = await fetch(base + path);
      assert.equal(response.status, status, path);
      await response.body?.cancel();
    }

    // Latency histograms per API and network bytes after the workload.
    const families = parsePrometheusText(await (await fetch(`${base}/metrics`)).text());
    const latency = families.find((f) => f.name === "kafka_network_requestmetrics_totaltimems");
    assert.equal(latency?.type, "histogram");
    const count = (request: string) =>
      latency!.samples.find((s) => s.name.endsWith("_count") && s.labels.request === request)
        ?.value ?? 0;
    assert.ok(count("Produce") >= 1, "Produce latency observed");
    assert.ok(count("Fetch") >= 1, "Fetch latency observed");
    assert.ok(count("CreateTopics") >= 2, "the console's CreateTopics went through the handlers");
    const bytes = (name: string) =>
      families.find((f) => f.name === name)?.samples.find((s) => s.labels.listener === "PLAINTEXT")
        ?.value ?? 0;
    assert.ok(
      bytes("kafka_server_socket_server_metrics_incoming_byte_total") > lines.join("").length,
    );
    assert.ok(bytes("kafka_server_socket_server_metrics_outgoing_byte_total") > 0);
    assert.ok(families.some((f) => f.name === "kraftling_eventloop_delay_seconds"));
    assert.ok(families.some((f) => f.name === "process_cpu_seconds_total"));

    const consumed = await checkCommand("kcat", [
      "-C",
      "-b",
      node.bootstrap,
      "-t",
      TOPIC,
      "-e",
      "-q",
    ]);
    assert.equal(consumed.trim().split("\n").length, lines.length);
  } finally {
    await node.stop();
  }
});

/** The HTTP port a node bound for `kraftling.http.listener=127.0.0.1:0`, read from its log. */
function httpPortOf(node: ClusterNode): number {
  const port = /Serving http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(node.logs())?.[1];
  assert.ok(port !== undefined, `node ${node.nodeId} logged no HTTP listener:\n${node.logs()}`);
  return Number(port);
}

/** Polls `check` every 250 ms until it returns true, failing after `timeoutMs` with `what`. */
async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`Timed out after ${timeoutMs} ms waiting until ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

Deno.test({
  name:
    "in a cluster the controller's console shows the quorum, and a broker's shows under-replicated partitions once a broker dies",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    requireClients();
    const cluster = await startCluster({
      controllers: 1,
      brokers: 2,
      props: {
        "kraftling.http.listener": "127.0.0.1:0",
        "broker.session.timeout.ms": "3000",
        "broker.heartbeat.interval.ms": "500",
      },
    });
    try {
      const [controller] = cluster.controllers as [ClusterNode];
      const [a, b] = cluster.brokers as [ClusterNode, ClusterNode];
      const controllerBase = `http://127.0.0.1:${httpPortOf(controller)}`;
      const base = `http://127.0.0.1:${httpPortOf(a)}`;

      const created = await postForm(base, "/topics", {
        name: "replicated",
        partitions: "2",
        replicationFactor: "2",
      });
      assert.equal(created.status, 201, await created.clone().text());
      await created.body?.cancel();
      await waitUntil("both partitions are fully in sync", async () => {
        const page = await (await fetch(`${base}/topics/replicated`)).text();
        return (page.match(/<td class="">\d, \d<\/td>/g) ?? []).length === 2;
      });

      const quorum = await renderedDom(`${controllerBase}/`);
      assert.match(quorum, /Served by node \d+ \(controller\)/);
      assert.match(quorum, new RegExp(`Leader <strong>node ${controller.nodeId}</strong>`));
      assert.match(quorum, /This node is a controller only/);
      assert.match(quorum, new RegExp(`<td>${b.nodeId}</td><td class="ok">running</td>`));
      assert.match(quorum, /Nothing is behind or under-replicated/);

      await b.kill();
      await waitUntil("the surviving broker reports both partitions under-replicated", async () => {
        const metrics = parsePrometheusText(await (await fetch(`${base}/metrics`)).text());
        const under = metrics.find((f) =>
          f.name === "kafka_server_replicamanager_underreplicatedpartitions"
        );
        return under?.samples[0]?.value === 2;
      });
      const overview = await renderedDom(`${base}/`);
      assert.match(overview, /2 under-replicated partitions; 1 fenced broker/);
      assert.match(overview, new RegExp(`<td>${b.nodeId}</td><td class="warn">fenced</td>`));
      assert.match(
        overview,
        /<a href="\/topics\/replicated">replicated<\/a><\/td><td class="num">2<\/td><td class="num">2<\/td><td class="num warn">2<\/td>/,
      );
      const afterwards = await renderedDom(`${controllerBase}/`);
      assert.match(afterwards, new RegExp(`<td>${b.nodeId}</td><td class="warn">fenced</td>`));
    } finally {
      await cluster.stop();
    }
  },
});

Deno.test("a person at the console: create a topic, browse its records, reset a group after a dry run", async () => {
  requireClients();
  const httpPort = freePort();
  const node = await startNode({ props: { "kraftling.http.listener": `127.0.0.1:${httpPort}` } });
  const base = `http://127.0.0.1:${httpPort}`;
  try {
    await checkCommand("kcat", ["-P", "-b", node.bootstrap, "-t", "ui-input"], {
      stdin: "first\nsecond\nthird\n",
    });
    await checkCommand("/usr/bin/python3", [
      "-c",
      CONSUME_AND_COMMIT,
      node.bootstrap,
      "ui-input",
      "ui-group",
      "3",
    ]);
    await using page = await launchChromium();

    // Create a topic by filling the form and pressing Create.
    await page.navigate(`${base}/topics`);
    await page.fill('form[action="/topics"] input[name="name"]', "made-in-browser");
    await page.fill('form[action="/topics"] input[name="partitions"]', "3");
    await page.clickAndWait('form[action="/topics"] button[type="submit"]');
    // The answer says so and links to the new topic's page.
    assert.match(await page.text(), /Created topic made-in-browser with 3 partitions/);
    const admin = new Admin({ bootstrapServers: node.bootstrap });
    try {
      const [created] = await admin.describeTopics(["made-in-browser"]);
      assert.equal(created!.partitions.length, 3);
    } finally {
      admin.close();
    }

    // Browse records: the topic page's link, then the form from offset 1.
    await page.navigate(`${base}/topics/ui-input`);
    await page.clickAndWait('a[href$="/records"]');
    await page.fill('input[name="offset"]', "1");
    await page.clickAndWait('form[action$="/records"] button[type="submit"]');
    const records = await page.text();
    assert.match(records, /second/);
    assert.match(records, /third/);
    assert.doesNotMatch(records, /\bfirst\b/);

    // Reset the group to the earliest offsets: a dry run first, then execute.
    await page.navigate(`${base}/groups/ui-group`);
    assert.match(await page.text(), /total lag 0/);
    await page.fill('select[name="strategy"]', "to-earliest");
    await page.clickAndWait('button[value="dry-run"]');
    assert.match(await page.text(), /Execute this reset/, "the dry run offers to execute");
    await page.clickAndWait('button[value="execute"]');
    assert.match(await page.text(), /total lag 3/, "the group is back at the start");
  } finally {
    await node.stop();
  }
});
