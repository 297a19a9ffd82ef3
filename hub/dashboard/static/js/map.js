// Leaflet (vendored from npm into static/vendor/, loaded only on pages with a map) with
// the lamps as coloured dots, their areas' outlines and names from the hub, and Karachi's
// districts as rough outlines. Map tiles are
// configured on the hub ([dashboard] tile_url); without them the map still shows points
// and outlines on a plain background, and fetches nothing from anywhere else.

import { h } from "./dom.js";
import { label, t } from "./i18n.js";

let leaflet = null;

// Leaflet queues a canvas redraw for the next animation frame; one that runs after its map
// was removed (the page was left) finds no context and throws reading 'clearRect'. Such a
// redraw has nothing left to draw.
function guarded(L) {
  const redraw = L.Canvas.prototype._redraw;
  L.Canvas.prototype._redraw = function () {
    if (this._ctx) redraw.call(this);
  };
  return L;
}

function loadLeaflet(base) {
  if (window.L) return Promise.resolve(window.L);
  if (leaflet) return leaflet;
  leaflet = new Promise((resolve, reject) => {
    document.head.append(h("link", { rel: "stylesheet", href: `${base}/vendor/leaflet/leaflet.css` }));
    const script = h("script", { src: `${base}/vendor/leaflet/leaflet.js` });
    script.addEventListener("load", () => resolve(guarded(window.L)));
    script.addEventListener("error", () => { leaflet = null; reject(new Error("leaflet did not load")); });
    document.head.append(script);
  });
  return leaflet;
}

export const LAMP_COLOURS = {
  dark: "#c62828", power_cut: "#5b1010", flicker: "#f26b1d", low_power: "#9c6b00",
  tamper: "#d6338a", day_burner: "#2b8fd6", offline: "#9aa3af", on: "#f5b700",
  off: "#4a5568", unknown: "#cbd2dc",
};

// A lamp's colour is its worst open alert, then what the node last said (DESIGN.md §6
// rules, most harmful to people on the street first).
const WORST_FIRST = [
  ["lamp_out", "dark"], ["area_power_cut", "power_cut"], ["supply_loss", "power_cut"],
  ["flicker", "flicker"], ["low_power", "low_power"], ["tamper", "tamper"],
  ["day_burner", "day_burner"], ["node_offline", "offline"],
];

/** What the map colours a lamp by: one of LAMP_COLOURS' keys. */
export function lampStateOf(node) {
  const open = new Set(node.open_alerts || []);
  for (const [rule, state] of WORST_FIRST) if (open.has(rule)) return state;
  if (node.lamp === "dark") return "dark";
  if (node.status === "offline") return "offline";
  return LAMP_COLOURS[node.lamp] ? node.lamp : "unknown";
}

export function legend() {
  return h("div", { class: "legend" },
    Object.keys(LAMP_COLOURS).map((k) => h("span", { class: `lamp-${k}`, text: t(`legend_${k}`) })));
}

// Lamps far from the others (a post with swapped coordinates, a typo) must not zoom the
// map out to the world: fit the lamps within this distance of their median.
const NEAR_DEG = 0.5;

function median(values) {
  const v = [...values].sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)];
}

/** The points a view should fit: valid coordinates near the median of all of them. */
export function fitPoints(points) {
  const valid = points.filter(([lat, lon]) => Math.abs(lat) <= 90 && Math.abs(lon) <= 180);
  if (!valid.length) return [];
  const mlat = median(valid.map((p) => p[0]));
  const mlon = median(valid.map((p) => p[1]));
  return valid.filter(([lat, lon]) => Math.abs(lat - mlat) <= NEAR_DEG && Math.abs(lon - mlon) <= NEAR_DEG);
}

/** A map in `el`; returns {setNodes(nodes, stateOf, onClick), focus(node), destroy()}. */
export async function lampMap(el, config) {
  const L = await loadLeaflet(config.static);
  const map = L.map(el, { preferCanvas: true, attributionControl: Boolean(config.tiles?.url) });
  if (config.tiles?.url) {
    L.tileLayer(config.tiles.url, {
      attribution: config.tiles.attribution || "", maxZoom: config.tiles.max_zoom || 19,
    }).addTo(map);
  }
  const outlines = L.geoJSON(null, {
    style: { color: "#5b6473", weight: 1.5, fill: true, fillOpacity: 0.04, dashArray: "4 3" },
    interactive: false,
  }).addTo(map);
  map.setView([24.89, 67.08], 11);
  try {
    const r = await fetch(`${config.static}/data/karachi-districts.geojson`);
    const districts = await r.json();
    outlines.addData(districts);
    for (const f of districts.features) {
      const [lon, lat] = f.properties.label_at;
      L.marker([lat, lon], {
        interactive: false,
        icon: L.divIcon({ className: "map-label", html: "", iconSize: null }),
      }).addTo(map).getElement()?.append(
        h("span", { class: "district-label", text: label("district", f.properties.id) }));
    }
  } catch {
    /* the outlines are decoration; the lamps matter */
  }
  // Areas under the lamps: their outlines (configured, or drawn by the hub around the
  // posts) and names, so a committee finds its streets on a map without tiles.
  // SVG, not the lamps' canvas: these arrive after an API call, and a canvas redraw queued
  // by them can run after the page was left (Leaflet then throws reading 'clearRect').
  const areas = L.geoJSON(null, {
    style: { color: "#0b63c5", weight: 2, fill: true, fillOpacity: 0.06 },
    interactive: false, renderer: L.svg(),
  }).addTo(map);
  const areaLabels = L.layerGroup().addTo(map);
  const lamps = L.layerGroup().addTo(map);
  const markers = new Map();
  let fitted = false;
  // Live updates may still arrive after the page was left; drawing on a removed canvas
  // renderer makes Leaflet throw (reading 'clearRect' of its deleted context).
  let destroyed = false;

  return {
    map,
    setNodes(nodes, stateOf, onClick) {
      if (destroyed) return;
      lamps.clearLayers();
      markers.clear();
      const points = [];
      for (const node of nodes) {
        // Only lamps on their poles: a revoked node's post is gone, a pending one has none.
        if (node.lat == null || node.lon == null || node.state !== "active") continue;
        const state = stateOf(node);
        const marker = L.circleMarker([node.lat, node.lon], {
          radius: 8, weight: 2, color: "#1d2433", fillColor: LAMP_COLOURS[state], fillOpacity: 0.95, state,
        });
        // A DOM node, not a string: Leaflet would parse a string as HTML.
        marker.bindTooltip(h("span", {},
          h("b", { text: node.pole || node.id }), " ", h("span", { text: node.area_name || node.area || "" }),
          h("br"), t(`legend_${state}`)));
        if (onClick) marker.on("click", () => onClick(node));
        marker.addTo(lamps);
        markers.set(node.id, marker);
        points.push([node.lat, node.lon]);
      }
      const near = fitPoints(points);
      if (!fitted && near.length) {
        // No animation: leaving the page mid-animation makes Leaflet throw after removal.
        map.fitBounds(L.latLngBounds(near).pad(0.3), { maxZoom: 16, animate: false });
        fitted = true;
      }
      // What is drawn, for people's tools and tests (the canvas itself is opaque).
      el.dataset.lamps = [...markers.entries()].map(([id, m]) => `${id}:${m.options.state}`).join(" ");
      el.dataset.zoom = String(map.getZoom());
    },
    setAreas(collection) {
      if (destroyed) return;
      areas.clearLayers();
      areaLabels.clearLayers();
      areas.addData(collection);
      for (const f of collection.features || []) {
        const ring = f.geometry?.type === "Polygon" ? f.geometry.coordinates[0] : null;
        if (!ring?.length) continue;
        const lon = ring.reduce((a, p) => a + p[0], 0) / ring.length;
        const lat = ring.reduce((a, p) => a + p[1], 0) / ring.length;
        const marker = L.marker([lat, lon], {
          interactive: false, icon: L.divIcon({ className: "map-label", html: "", iconSize: null }),
        }).addTo(areaLabels);
        marker.getElement()?.append(h("bdi", { class: "area-label", text: f.properties?.name ?? f.properties?.id }));
      }
      el.dataset.areas = (collection.features || []).map((f) => f.properties?.id).join(" ");
    },
    focus(node) {
      if (destroyed || node?.lat == null) return;
      map.setView([node.lat, node.lon], Math.max(map.getZoom(), 16), { animate: false });
      markers.get(node.id)?.openTooltip();
      el.scrollIntoView({ behavior: "smooth", block: "center" });
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      map.stop();
      map.remove();
    },
  };
}
