/**
 * The console's stylesheet and its one small script, embedded as strings so `deno compile`
 * carries them and nothing is fetched from elsewhere. Pages work without the script: it only
 * redraws the throughput chart.
 *
 * @module
 */

/** `/console.css`: readable tables, visible keyboard focus, warnings that stand out. */
export const CONSOLE_CSS = `
:root { color-scheme: light dark; --warn: #b3261e; --ok: #1b6e2d; --muted: #6b6b6b; }
body { font: 15px/1.45 system-ui, sans-serif; margin: 0 auto; max-width: 72rem; padding: 0 1rem 3rem; }
header { display: flex; gap: 1.5rem; align-items: baseline; border-bottom: 1px solid #8884; padding: .6rem 0; }
header strong { font-size: 1.15rem; }
nav a { margin-right: 1rem; }
a:focus, button:focus, input:focus, select:focus, summary:focus { outline: 3px solid #2a6ef2; outline-offset: 2px; }
.skip { position: absolute; left: -999px; } .skip:focus { left: 1rem; top: .5rem; background: Canvas; }
h1 { font-size: 1.5rem; margin: 1.2rem 0 .6rem; } h2 { font-size: 1.15rem; margin: 1.6rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; }
th, td { text-align: left; padding: .25rem .6rem; border-bottom: 1px solid #8883; vertical-align: top; }
th { font-weight: 600; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.warn { color: var(--warn); font-weight: 600; } .ok { color: var(--ok); } .muted { color: var(--muted); }
.summary { padding: .6rem .9rem; border-radius: .4rem; border: 1px solid; margin: .8rem 0; }
.summary.ok { border-color: var(--ok); } .summary.warn { border-color: var(--warn); }
form.inline { display: inline-flex; gap: .5rem; align-items: end; flex-wrap: wrap; margin: .3rem 0 1rem; }
label { display: flex; flex-direction: column; font-size: .85rem; gap: .15rem; }
input, select, button { font: inherit; padding: .25rem .4rem; }
button.danger { color: var(--warn); }
pre { margin: 0; white-space: pre-wrap; word-break: break-all; max-width: 40rem; }
code, pre { font: 13px/1.4 ui-monospace, monospace; }
svg.chart { width: 100%; max-width: 40rem; height: 8rem; border: 1px solid #8884; }
svg.chart polyline { fill: none; stroke-width: 2; } .in { stroke: #2a6ef2; } .out { stroke: #d97706; }
`;

/**
 * `/console.js`: polls `/api/throughput` every 2 s and draws produce and fetch bytes per second
 * as two polylines of the last 60 samples. Rates come from the difference of two counters.
 */
export const CONSOLE_JS = `
(() => {
  const svg = document.getElementById("throughput");
  const label = document.getElementById("throughput-label");
  if (!svg) return;
  const points = [];
  let last = null;
  const draw = () => {
    const max = Math.max(1, ...points.flatMap((p) => [p.inRate, p.outRate]));
    const line = (key) => points.map((p, i) => (i * 600 / 59).toFixed(1) + "," + (100 - p[key] * 95 / max).toFixed(1)).join(" ");
    svg.querySelector(".in").setAttribute("points", line("inRate"));
    svg.querySelector(".out").setAttribute("points", line("outRate"));
    const now = points[points.length - 1];
    if (now) label.textContent = "in " + Math.round(now.inRate) + " B/s, out " + Math.round(now.outRate) + " B/s (max " + Math.round(max) + " B/s)";
  };
  const poll = async () => {
    try {
      const r = await fetch("/api/throughput", { headers: { accept: "application/json" } });
      const s = await r.json();
      if (last && s.timeMs > last.timeMs) {
        const seconds = (s.timeMs - last.timeMs) / 1000;
        points.push({ inRate: (s.bytesIn - last.bytesIn) / seconds, outRate: (s.bytesOut - last.bytesOut) / seconds });
        if (points.length > 60) points.shift();
        draw();
      }
      last = s;
    } catch (_) { /* the node may be restarting: try again next tick */ }
  };
  poll();
  setInterval(poll, 2000);
})();
`;
