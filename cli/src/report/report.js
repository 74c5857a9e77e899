"use strict";
// armtune report: flame graph frames, their search, flame/icicle switches and sortable tables.
// Everything is inline; nothing is fetched.
(function () {
  // A flame graph lives in an iframe (srcdoc) so each keeps inferno's own script and ids.
  function flameWindow(frame) {
    try { return frame.contentWindow && frame.contentWindow.search ? frame.contentWindow : null; } catch (e) { return null; }
  }
  function fitHeight(frame) {
    try {
      var svg = frame.contentDocument.querySelector("svg");
      if (svg) frame.style.height = Math.ceil(svg.getBoundingClientRect().height) + 4 + "px";
    } catch (e) { /* a frame that did not load keeps its default height */ }
  }
  // Searches every frame of one graph (flame and icicle) for `term` (a regular expression, as
  // inferno's search), and says what share matched.
  // inferno's search() adds to the last one's highlights; clear them first, as its button does.
  function clearSearch(w) {
    w.reset_search();
    w.searching = 0;
    w.searchbtn.classList.remove("show");
    w.searchbtn.firstChild.nodeValue = "Search";
    w.matchedtxt.classList.add("hide");
    w.matchedtxt.firstChild.nodeValue = "";
  }
  function searchGraph(graph, term) {
    var out = graph.querySelector(".matched");
    var said = "";
    graph.querySelectorAll("iframe.flame").forEach(function (frame) {
      var w = flameWindow(frame);
      if (!w) return;
      clearSearch(w);
      if (!term) return;
      try { w.search(term); } catch (e) { said = "not a regular expression"; return; }
      if (!frame.hidden && said === "") said = w.matchedtxt.firstChild.nodeValue || "no match";
    });
    if (out) out.textContent = term ? said : "";
  }
  window.armtuneSearch = function (term) {
    document.querySelectorAll(".graph").forEach(function (g) {
      var box = g.querySelector("input[type=search]");
      if (box) box.value = term;
      searchGraph(g, term);
    });
  };
  // report.html#search=REGEX opens with every graph searched for REGEX.
  function searchFromAddress(graph) {
    var m = /(?:^|&)search=([^&]*)/.exec(location.hash.slice(1));
    if (!m) return;
    var box = graph.querySelector("input[type=search]");
    box.value = decodeURIComponent(m[1]);
    searchGraph(graph, box.value);
  }
  function frameDone(frame) {
    var d = null;
    try { d = frame.contentDocument; } catch (e) { return false; }
    return Boolean(d && d.readyState === "complete" && d.querySelector("svg") && flameWindow(frame));
  }
  function watchFrames(graph, frames) {
    var pending = frames.length;
    var loaded = function (frame) {
      fitHeight(frame);
      pending -= 1;
      if (pending > 0) return;
      graph.dataset.ready = "1";
      searchFromAddress(graph);
      // When the page became usable, for scripts/bench/report-size.sh.
      if (!document.querySelector(".graph:not(.empty):not([data-ready])")) window.armtuneReadyAt = performance.now();
    };
    frames.forEach(function (frame) {
      // A frame may have finished before this script ran (the parser reaches it last).
      if (frameDone(frame)) { loaded(frame); return; }
      frame.addEventListener("load", function () { loaded(frame); });
    });
  }
  function showView(graph, frames, button) {
    graph.querySelectorAll(".tabs button").forEach(function (b) { b.setAttribute("aria-pressed", b === button); });
    frames.forEach(function (f) {
      f.hidden = f.dataset.view !== button.dataset.view;
      if (!f.hidden) fitHeight(f);
    });
    var box = graph.querySelector("input[type=search]");
    if (box.value) searchGraph(graph, box.value);
  }
  function setUpGraph(graph) {
    var frames = graph.querySelectorAll("iframe.flame");
    watchFrames(graph, frames);
    var box = graph.querySelector("input[type=search]");
    box.addEventListener("input", function () { searchGraph(graph, box.value); });
    graph.querySelector("button.reset").addEventListener("click", function () {
      box.value = "";
      searchGraph(graph, "");
      frames.forEach(function (f) { var w = flameWindow(f); if (w) w.unzoom(); });
    });
    graph.querySelectorAll(".tabs button").forEach(function (button) {
      button.addEventListener("click", function () { showView(graph, frames, button); });
    });
  }
  // Tables: a click on a heading sorts by that column (numbers by their data-v), again reverses.
  function sortKey(row, col) {
    var cell = row.cells[col];
    if (!cell) return "";
    var v = cell.getAttribute("data-v");
    if (v === null) return cell.textContent.trim().toLowerCase();
    // A missing number ("–", written as NaN) sorts below every number.
    var n = parseFloat(v);
    return isNaN(n) ? -Infinity : n;
  }
  function compareKeys(x, y) {
    if (typeof x === "number" && typeof y === "number") return x - y;
    return String(x).localeCompare(String(y));
  }
  function sortTable(table, th, col) {
    var descending = th.getAttribute("aria-sort") !== "descending";
    table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var c = compareKeys(sortKey(a, col), sortKey(b, col));
      return descending ? -c : c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function setUpTable(table) {
    table.querySelectorAll("th").forEach(function (th, col) {
      th.addEventListener("click", function () { sortTable(table, th, col); });
    });
  }
  document.querySelectorAll(".graph:not(.empty)").forEach(setUpGraph);
  document.querySelectorAll("table.sortable").forEach(setUpTable);
  if (!document.querySelector(".graph:not(.empty)")) window.armtuneReadyAt = performance.now();
})();
