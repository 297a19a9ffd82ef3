// Small inline-SVG charts: no chart library to download on a slow connection.
// Time runs left to right in both languages (the chart is dir="ltr").

import { s, h } from "./dom.js";
import { clock, number } from "./i18n.js";

const W = 320;
const H = 110;
const PAD = { left: 34, right: 6, top: 8, bottom: 18 };

/**
 * chart(points, {kind, from, to, title, max, digits, withDay, step})
 *   points: [{t: epoch seconds, v: number|null}]; a time without a point is drawn as a gap
 *   step: seconds per point (the bucket); farther apart than that, the line breaks
 *   kind: "line" (lux, watts), "bars" (footfall), "share" (0..1, lamp burning)
 */
export function chart(points, opts) {
  const { kind = "line", title, digits = 0, withDay = false } = opts;
  const from = opts.from ?? Math.min(...points.map((p) => p.t));
  const to = opts.to ?? Math.max(...points.map((p) => p.t));
  const values = points.map((p) => p.v).filter((v) => v !== null && v !== undefined);
  const max = opts.max ?? niceMax(Math.max(0, ...values));
  const span = Math.max(1, to - from);
  const x = (t) => PAD.left + ((t - from) / span) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - (v / (max || 1)) * (H - PAD.top - PAD.bottom);
  const svg = s("svg", {
    viewBox: `0 0 ${W} ${H}`, class: `chart chart-${kind}`, role: "img",
    "aria-label": title,
  });
  svg.append(s("title", { text: title }));
  // axes and labels
  svg.append(
    s("line", { x1: PAD.left, y1: H - PAD.bottom, x2: W - PAD.right, y2: H - PAD.bottom, class: "axis" }),
    s("line", { x1: PAD.left, y1: PAD.top, x2: PAD.left, y2: H - PAD.bottom, class: "axis" }),
    s("text", { x: PAD.left - 4, y: PAD.top + 8, class: "tick", "text-anchor": "end",
      text: kind === "share" ? `${number(100)}%` : number(max, digits) }),
    s("text", { x: PAD.left - 4, y: H - PAD.bottom, class: "tick", "text-anchor": "end", text: number(0) }),
  );
  for (const [t, anchor] of [[from, "start"], [from + span / 2, "middle"], [to, "end"]]) {
    svg.append(s("text", { x: x(t), y: H - 4, class: "tick", "text-anchor": anchor, text: clock(t, withDay) }));
  }
  const present = points.filter((p) => p.v !== null && p.v !== undefined);
  if (kind === "line") {
    // A gap in the data (node offline) is a gap in the line, not a straight jump.
    let d = "";
    let pen = "M";
    const step = opts.step || medianStep(points);
    let last = null;
    const alone = [];
    for (const [i, p] of points.entries()) {
      if (p.v === null || p.v === undefined) { pen = "M"; continue; }
      if (last !== null && step && p.t - last > 2.5 * step) pen = "M";
      d += `${pen}${x(p.t).toFixed(1)},${y(p.v).toFixed(1)} `;
      // a point with no neighbour draws no line: show it as a dot
      const next = points[i + 1];
      if (pen === "M" && !(next && next.v != null && !(step && next.t - p.t > 2.5 * step))) alone.push(p);
      pen = "L";
      last = p.t;
    }
    svg.append(s("path", { d: d.trim(), class: "series" }));
    for (const p of alone) {
      svg.append(s("circle", { cx: x(p.t).toFixed(1), cy: y(p.v).toFixed(1), r: 2, class: "series dot" }));
    }
  } else {
    // One bucket wide (opts.step, the query's `every`); guessing from the points would
    // stretch a lone reading across the whole chart.
    const step = opts.step || medianStep(points) || Math.min(span, 900);
    const bw = Math.max(1, (step / span) * (W - PAD.left - PAD.right) - 1);
    for (const p of present) {
      // A share of 0 (lamp off all bucket) still shows, as a low dark stub.
      const top = y(kind === "share" ? Math.max(p.v, 0.08 * max) : p.v);
      const left = Math.max(PAD.left + 0.5, x(p.t) - bw);
      svg.append(s("rect", {
        x: left.toFixed(1), y: top.toFixed(1), width: Math.max(0.5, x(p.t) - left).toFixed(1),
        height: Math.max(0, H - PAD.bottom - top).toFixed(1),
        class: kind === "share" && p.v < 0.5 ? "series dark" : "series",
      }));
    }
  }
  return h("figure", { class: "chart-box", dir: "ltr" }, h("figcaption", { text: title }), svg);
}

function niceMax(v) {
  if (v <= 0) return 1;
  const mag = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * mag) return m * mag;
  return 10 * mag;
}

function medianStep(points) {
  const steps = [];
  for (let i = 1; i < points.length; i++) steps.push(points[i].t - points[i - 1].t);
  steps.sort((a, b) => a - b);
  return steps.length ? steps[Math.floor(steps.length / 2)] : 0;
}
