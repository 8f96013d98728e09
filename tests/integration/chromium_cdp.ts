/**
 * A headless Chromium driven over the DevTools protocol, for browser tests that use a page as a
 * person would: navigate, fill inputs, click buttons, read the DOM. Every wait is bounded.
 *
 * @example
 * ```ts ignore
 * await using browser = await launchChromium();
 * await browser.navigate("http://127.0.0.1:8080/topics");
 * await browser.fill('input[name="name"]', "orders");
 * await browser.clickAndWait('form[action="/topics"] button[type="submit"]');
 * ```
 *
 * @module
 */

/** How long one DevTools command or page load may take, in milliseconds. */
const STEP_TIMEOUT_MS = 30_000;

interface Pending {
  resolve: (result: Record<string, unknown>) => void;
  reject: (error: Error) => void;
}

/** One Chromium process with one page. */
export class ChromiumPage {
  readonly #process: Deno.ChildProcess;
  readonly #socket: WebSocket;
  readonly #profile: string;
  #sessionId = "";
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  #loadWaiters: (() => void)[] = [];

  constructor(process: Deno.ChildProcess, socket: WebSocket, profile: string) {
    this.#process = process;
    this.#socket = socket;
    this.#profile = profile;
    socket.onmessage = (event) => {
      const message = JSON.parse(String(event.data)) as {
        id?: number;
        method?: string;
        result?: Record<string, unknown>;
        error?: { message: string };
      };
      if (message.id !== undefined) {
        const pending = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        if (message.error) pending?.reject(new Error(message.error.message));
        else pending?.resolve(message.result ?? {});
      } else if (message.method === "Page.loadEventFired") {
        const waiters = this.#loadWaiters;
        this.#loadWaiters = [];
        for (const wake of waiters) wake();
      }
    };
  }

  /** Sends a DevTools command (to the page's session unless `browser`). */
  send(method: string, params: Record<string, unknown> = {}, browser = false) {
    const id = this.#nextId++;
    const message = browser || this.#sessionId === ""
      ? { id, method, params }
      : { id, method, params, sessionId: this.#sessionId };
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`DevTools ${method} timed out`));
      }, STEP_TIMEOUT_MS);
      this.#pending.set(id, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.#socket.send(JSON.stringify(message));
    });
  }

  /** Opens the page and attaches to it. */
  async open(): Promise<void> {
    const { targetId } = await this.send("Target.createTarget", { url: "about:blank" }, true);
    const { sessionId } = await this.send(
      "Target.attachToTarget",
      { targetId, flatten: true },
      true,
    );
    this.#sessionId = String(sessionId);
    await this.send("Page.enable");
    await this.send("Runtime.enable");
  }

  #nextLoad(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error("page load timed out")),
        STEP_TIMEOUT_MS,
      );
      this.#loadWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Loads `url` and waits for its load event. */
  async navigate(url: string): Promise<void> {
    const loaded = this.#nextLoad();
    await this.send("Page.navigate", { url });
    await loaded;
  }

  /** Evaluates `expression` in the page and returns its (JSON) value. */
  async evaluate<T = unknown>(expression: string): Promise<T> {
    const r = await this.send("Runtime.evaluate", {
      expression,
      returnByValue: true,
      awaitPromise: true,
    });
    const exception = r.exceptionDetails as { text?: string } | undefined;
    if (exception) throw new Error(`page script failed: ${exception.text}`);
    return (r.result as { value: T }).value;
  }

  /** Sets an input's, textarea's or select's value as typing would. */
  async fill(selector: string, value: string): Promise<void> {
    const found = await this.evaluate<boolean>(`(() => {
      const el = document.querySelector(${JSON.stringify(selector)});
      if (!el) return false;
      el.focus();
      el.value = ${JSON.stringify(value)};
      el.dispatchEvent(new Event("input", { bubbles: true }));
      el.dispatchEvent(new Event("change", { bubbles: true }));
      return true;
    })()`);
    if (!found) throw new Error(`no element matches ${selector}`);
  }

  /** Clicks an element that navigates (a link or a submit button) and waits for the new page. */
  async clickAndWait(selector: string): Promise<void> {
    const loaded = this.#nextLoad();
    const found = await this.evaluate<boolean>(`(() => {
      const el = document.querySelector(${JSON.stringify(selector)});
      if (!el) return false;
      el.click();
      return true;
    })()`);
    if (!found) throw new Error(`no element matches ${selector}`);
    await loaded;
  }

  /** The page's current URL and its rendered text. */
  async text(): Promise<string> {
    return await this.evaluate<string>("document.body.innerText");
  }

  async url(): Promise<string> {
    return await this.evaluate<string>("location.href");
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.send("Browser.close", {}, true).catch(() => {});
      this.#socket.close();
    } finally {
      try {
        this.#process.kill("SIGKILL");
      } catch { /* exited */ }
      await this.#process.status;
      await Deno.remove(this.#profile, { recursive: true }).catch(() => {});
    }
  }
}

/** Starts headless Chromium with remote debugging on a free port and opens one page. */
export async function launchChromium(): Promise<ChromiumPage> {
  const profile = await Deno.makeTempDir({ prefix: "kraftling-cdp-" });
  const process = new Deno.Command("chromium", {
    args: [
      "--headless",
      "--disable-gpu",
      "--no-sandbox",
      "--disable-dev-shm-usage",
      "--remote-debugging-port=0",
      `--user-data-dir=${profile}`,
      "about:blank",
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  // Chromium prints "DevTools listening on ws://..." on stderr once it is ready.
  const reader = process.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  let wsUrl: string | undefined;
  while (wsUrl === undefined && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    wsUrl = /DevTools listening on (ws:\/\/\S+)/.exec(text)?.[1];
  }
  // Keep draining stderr so Chromium never blocks on a full pipe.
  (async () => {
    try {
      while (!(await reader.read()).done) { /* drain */ }
    } catch { /* closed */ }
  })();
  if (wsUrl === undefined) {
    try {
      process.kill("SIGKILL");
    } catch { /* exited */ }
    throw new Error(`Chromium did not start its DevTools endpoint:\n${text.slice(-2000)}`);
  }
  const socket = new WebSocket(wsUrl);
  await new Promise<void>((resolve, reject) => {
    socket.onopen = () => resolve();
    socket.onerror = () => reject(new Error(`cannot connect to ${wsUrl}`));
  });
  const page = new ChromiumPage(process, socket, profile);
  await page.open();
  return page;
}
