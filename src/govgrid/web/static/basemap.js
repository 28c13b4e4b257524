/* govgrid basemap: the one map set-up every map page shares (Leaflet from /static/leaflet/).
 *
 *   const base = GovgridBasemap.create("map", {division: "140321", tiles: {{ basemap | tojson }}});
 *   base.map        the L.Map (add the page's own layers to it)
 *   base.bounds     the layer group of division boundaries (a page may offer it as a layer toggle)
 *   base.ready      a promise resolved once the division's outline is drawn (and the view fitted)
 *
 * tiles: {url, labels, attribution} from the GOVGRID_MAP_TILES* settings. With a URL the tiles are the
 * basemap (XYZ {z}/{x}/{y} with optional {s}, or WMTS {TileMatrix}/{TileRow}/{TileCol}; 天地图 with the
 * operator's key) and the boundaries are drawn over them. Without one (offline, the default) the division, its
 * townships and their villages are the map, each filled and named so a person can find a place: township names
 * always, village names from zoom 13 (a township's villages are fetched once the map is zoomed in on it), and a
 * "where am I" line (县 · 乡镇 · 村) for the middle of the map.
 * Names come from the server as data and only ever become text (never HTML).
 */
(function () {
  "use strict";
  const VILLAGE_ZOOM = 13;
  const get = url => fetch(url, {credentials: "same-origin"}).then(r => r.ok ? r.json() : Promise.reject(r.status));

  function template(url) {
    // WMTS RESTful placeholders -> Leaflet's
    return String(url).replace(/\{TileMatrix\}/gi, "{z}").replace(/\{TileRow\}/gi, "{y}").replace(/\{TileCol\}/gi, "{x}");
  }

  function tileLayer(url, attribution) {
    const opts = {maxZoom: 18, attribution: attribution || ""};
    if (url.indexOf("{s}") >= 0) opts.subdomains = /tianditu/.test(url) ? "01234567" : "abc";
    return L.tileLayer(template(url), opts);
  }

  // A point to hang a polygon's name on: the area-weighted centroid of its largest ring, or the ring's
  // middle vertex when the centroid falls outside (a concave shape).
  function labelPoint(geometry) {
    const polys = geometry.type === "Polygon" ? [geometry.coordinates] :
      geometry.type === "MultiPolygon" ? geometry.coordinates : [];
    let best = null, bestArea = -1;
    polys.forEach(p => {
      const ring = p[0];
      let a = 0, cx = 0, cy = 0;
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const f = ring[j][0] * ring[i][1] - ring[i][0] * ring[j][1];
        a += f; cx += (ring[j][0] + ring[i][0]) * f; cy += (ring[j][1] + ring[i][1]) * f;
      }
      if (Math.abs(a) > bestArea) { bestArea = Math.abs(a); best = {ring, c: a ? [cx / (3 * a), cy / (3 * a)] : ring[0]}; }
    });
    if (!best) return null;
    const [x, y] = best.c, ring = best.ring;
    let inside = false;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
    }
    const p = inside ? best.c : ring[Math.floor(ring.length / 2)];
    return L.latLng(p[1], p[0]);
  }

  function inRing(x, y, ring) {
    let inside = false;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if ((yi > y) !== (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
    }
    return inside;
  }

  function contains(geometry, x, y) {
    const polys = geometry.type === "Polygon" ? [geometry.coordinates] :
      geometry.type === "MultiPolygon" ? geometry.coordinates : [];
    return polys.some(p => inRing(x, y, p[0]) && !p.slice(1).some(hole => inRing(x, y, hole)));
  }

  // "where am I": the township and village under the middle of the map, always in view (offline or not)
  function placeControl(map, places) {
    const ctl = L.control({position: "topright"});
    ctl.onAdd = () => {
      const box = L.DomUtil.create("div", "gg-place");
      box.id = "gg-place";
      L.DomEvent.disableClickPropagation(box);
      const update = () => {
        const c = map.getCenter();
        const names = places.filter(p => contains(p.geometry, c.lng, c.lat)).sort((a, b) => a.depth - b.depth).map(p => p.name);
        box.textContent = names.join(" · ");
        box.style.display = names.length ? "" : "none";
      };
      map.on("moveend", update);
      places.changed = update;
      update();
      return box;
    };
    ctl.addTo(map);
  }

  function label(group, feature, name, cls) {
    const at = labelPoint(feature.geometry);
    if (!at) return;
    const span = document.createElement("span");
    span.textContent = name;
    // a marker with a text icon (not a tooltip: the page's own tooltips stay the only .leaflet-tooltip)
    L.marker(at, {pane: "ggLabels", interactive: false, keyboard: false,
                  icon: L.divIcon({className: "gg-label " + cls, html: span, iconSize: null})}).addTo(group);
  }

  function create(elementId, options) {
    const o = options || {};
    const tiles = o.tiles || {};
    const online = !!(tiles.url && String(tiles.url).trim());
    const map = L.map(elementId, Object.assign({attributionControl: online, zoomControl: true}, o.mapOptions || {}));
    map.setView(o.center || [37.8, 113.6], o.zoom || 12);
    const container = map.getContainer();
    container.classList.add(online ? "gg-online" : "gg-offline");
    if (online) {
      tileLayer(tiles.url, tiles.attribution).addTo(map);
      if (tiles.labels) tileLayer(tiles.labels, "").addTo(map);
    }
    // the basemap's own panes, below the page's data (overlay pane 400) and above tiles (200)
    map.createPane("ggBase").style.zIndex = 300;
    const labelPane = map.createPane("ggLabels");
    labelPane.style.zIndex = 350;
    labelPane.style.pointerEvents = "none";
    const bounds = L.layerGroup().addTo(map);
    const names = L.layerGroup().addTo(map);
    const zoomClass = () => container.classList.toggle("gg-zoom-low", map.getZoom() < VILLAGE_ZOOM);
    map.on("zoomend", zoomClass);
    zoomClass();

    const places = [];
    const remember = (f, name, depth) => { places.push({geometry: f.geometry, name, depth}); if (places.changed) places.changed(); };
    if (o.where !== false) placeControl(map, places);
    const fill = (colour, opacity) => online ? {fill: false} : {fill: true, fillColor: colour, fillOpacity: opacity};
    let ready = Promise.resolve();
    if (o.division) {
      const code = encodeURIComponent(o.division);
      ready = get(`/api/v1/divisions/${code}/boundary`).then(f => {
        L.geoJSON(f, {pane: "ggBase", interactive: false, style: Object.assign({color: "#7a1f1f", weight: 3, dashArray: "6 4"}, fill("#f3efe6", 0.6))}).addTo(bounds);
        remember(f, f.properties && f.properties.name, 0);
        if (o.fit !== false) map.fitBounds(L.geoJSON(f).getBounds(), {animate: false});
      }).catch(() => {});
      if (o.labels !== false) {
        // villages are fetched per township, and only once the map is zoomed in on that township
        const towns = [];
        const villagesInView = () => {
          if (o.villages === false || map.getZoom() < VILLAGE_ZOOM) return;
          const view = map.getBounds();
          towns.filter(t => !t.loaded && t.box.intersects(view)).forEach(t => {
            t.loaded = true;
            get(`/api/v1/divisions/${t.code}/children`).then(vs => vs.forEach(v => {
              get(`/api/v1/divisions/${encodeURIComponent(v.code)}/boundary`).then(f => {
                L.geoJSON(f, {pane: "ggBase", interactive: false, style: {color: "#b08a6a", weight: 0.8, dashArray: "2 3", fill: false}}).addTo(bounds);
                label(names, f, v.name, "gg-village");
                remember(f, v.name, 2);
              }).catch(() => {});
            })).catch(() => {});
          });
        };
        map.on("moveend", villagesInView);
        get(`/api/v1/divisions/${code}/children`).then(list => list.forEach((tw, i) => {
          const tcode = encodeURIComponent(tw.code);
          get(`/api/v1/divisions/${tcode}/boundary`).then(f => {
            const shade = i % 2 ? "#f6f0e2" : "#eef2e4";
            L.geoJSON(f, {pane: "ggBase", interactive: false, style: Object.assign({color: "#a05a5a", weight: 1.5}, fill(shade, 0.7))}).addTo(bounds);
            label(names, f, tw.name, "gg-town");
            remember(f, tw.name, 1);
            towns.push({code: tcode, box: L.geoJSON(f).getBounds(), loaded: false});
            villagesInView();
          }).catch(() => {});
        })).catch(() => {});
      }
    }
    return {map, bounds, names, ready, online};
  }

  // the labels' look, once per page (no inline style attribute in templates)
  const css = document.createElement("style");
  css.textContent =
    ".gg-label{width:0!important;height:0!important;background:transparent;border:0;pointer-events:none}" +
    ".gg-label span{position:absolute;left:0;top:0;transform:translate(-50%,-50%);white-space:nowrap;" +
    "text-shadow:0 0 3px #fff,0 0 3px #fff,0 0 2px #fff}" +
    ".gg-town span{font-weight:700;font-size:14px;color:#5a2a2a}" +
    ".gg-village span{font-size:11px;color:#5b4a3a}" +
    ".gg-zoom-low .gg-village{display:none}" +
    ".gg-offline{background:#e9edf0}" +
    ".gg-place{background:rgba(255,255,255,.9);padding:2px 8px;border-radius:4px;font-size:12px;" +
    "box-shadow:0 0 3px rgba(0,0,0,.3);max-width:60vw;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}";
  document.head.appendChild(css);

  window.GovgridBasemap = {create, labelPoint, template};
})();
