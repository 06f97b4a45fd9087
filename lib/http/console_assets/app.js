// The Element Relay console (docs/console.md). Plain script, no build step, no other origin.
// Every piece of data is put on the page with textContent or attributes, never as HTML.
"use strict";
(function () {
  var KEY = "relay-console-token";
  var STATES = ["submitted", "in progress", "completed", "failed"];
  var TYPES = { png: "image/png", jpg: "image/jpeg", jpeg: "image/jpeg", webp: "image/webp",
    mp4: "video/mp4", mov: "video/quicktime" };
  var VOD_LIMIT = 20;
  var chosen = [];
  var cursor = null;
  var vodOffset = 0;
  var refreshTimer = null;

  function $(id) { return document.getElementById(id); }

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    if (cls) { node.className = cls; }
    return node;
  }

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  function say(id, text) { $(id).textContent = text; }

  function token() { return sessionStorage.getItem(KEY) || ""; }

  // One call to the function: {status, body}; the status is 0 when the network failed.
  function api(method, path, body) {
    var init = { method: method, headers: { Authorization: "Bearer " + token() }, cache: "no-store" };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (response) {
      return response.text().then(function (text) {
        var parsed = null;
        try { parsed = text ? JSON.parse(text) : null; } catch (e) { parsed = null; }
        if (response.status === 401) { say("status", "The token was refused (401): paste a valid one."); }
        return { status: response.status, body: parsed };
      });
    }, function () { return { status: 0, body: null }; });
  }

  function absent(answer) { return answer.status === 404 || answer.status === 405 || answer.status === 501; }

  function problem(answer) {
    if (answer.status === 0) { return "the function could not be reached"; }
    var error = answer.body && answer.body.error;
    if (error) { return error.code + ": " + error.message; }
    return "HTTP " + answer.status;
  }

  // ---- counters
  function loadCounts() {
    var list = $("counts");
    return api("GET", "elements/counts").then(function (answer) {
      clear(list);
      if (answer.status === 200 && answer.body && answer.body.counts) {
        STATES.forEach(function (state) {
          var box = el("div", null, "count state-" + state.replace(" ", "-"));
          box.appendChild(el("dt", state));
          box.appendChild(el("dd", answer.body.counts[state] || 0));
          list.appendChild(box);
        });
        say("counts-note", "");
      } else if (absent(answer)) {
        say("counts-note", "Counters are not available on this deployment (GET /elements/counts).");
      } else {
        say("counts-note", "Counters could not be read: " + problem(answer));
      }
    });
  }

  // ---- the gallery
  function errorBlock(error) {
    var box = el("div", null, "error");
    var code = String(error.code || "Failed");
    var message = String(error.message || "");
    box.appendChild(el("p", message.indexOf(code + ": ") === 0 ? message : code + ": " + message, "error-code"));
    var details = Array.isArray(error.details) ? error.details : [];
    if (!details.length && code.indexOf(".") > 0) {  // VOD's parameter codes name the field
      var rule = String(error.message || "");
      if (rule.indexOf(code + ": ") === 0) { rule = rule.slice(code.length + 2); }
      details = [{ field: code.slice(code.indexOf(".") + 1), problem: rule }];
    }
    if (details.length) {
      var list = el("ul", null, "problems");
      details.forEach(function (detail) { list.appendChild(problemItem(detail)); });
      box.appendChild(list);
    }
    return box;
  }

  function card(entry) {
    var item = el("li", null, "card");
    item.setAttribute("data-session-id", entry.session_id || "");
    item.setAttribute("data-state", entry.state || "");
    var name = entry.name || "(no name)";
    if (typeof entry.thumbnail_url === "string" && /^https?:\/\//.test(entry.thumbnail_url)) {
      var img = document.createElement("img");
      img.alt = "frontal image of " + name;
      img.referrerPolicy = "no-referrer";
      img.loading = "lazy";
      img.src = entry.thumbnail_url;
      item.appendChild(img);
    } else {
      item.appendChild(el("div", "no picture", "placeholder"));
    }
    item.appendChild(el("h3", name, "name"));
    var state = entry.state || "unknown";
    var badge = el("span", state, "badge state-" + state.replace(" ", "-"));
    badge.setAttribute("aria-label", "state: " + state);
    item.appendChild(badge);
    var facts = el("dl", null, "facts");
    function fact(label, value) {
      if (value === undefined || value === null || value === "") { return; }
      facts.appendChild(el("dt", label));
      facts.appendChild(el("dd", value));
    }
    if (entry.element_ids && entry.element_ids.length) { fact("element id", entry.element_ids.join(", ")); }
    fact("task", entry.task_id);
    fact("session", entry.session_id);
    if (entry.source) {
      var where = entry.source.kind + (entry.source.bucket ? "://" + entry.source.bucket + "/" : "");
      fact("source", where + (entry.source.keys ? entry.source.keys.join(", ") : ""));
    }
    fact("created", entry.created_at);
    (Array.isArray(entry.deleted) ? entry.deleted : []).forEach(function (gone) {
      fact("deleted from VOD", gone.element_id + " at " + gone.deleted_at);
    });
    item.appendChild(facts);
    if (entry.error) { item.appendChild(errorBlock(entry.error)); }
    return item;
  }

  // The first page again: a card whose entry did not change is kept as it is (its picture is not
  // fetched again), a changed one is replaced, the order is the list's.
  function signature(entry) {
    var copy = {};
    Object.keys(entry).forEach(function (k) { if (k !== "thumbnail_url") { copy[k] = entry[k]; } });
    return JSON.stringify(copy);
  }

  function render(gallery, entries) {
    var kept = {};
    Array.prototype.forEach.call(gallery.children, function (node) {
      if (node.dataset && node.dataset.signature) { kept[node.dataset.signature] = node; }
    });
    var nodes = entries.map(function (entry) {
      var sig = signature(entry);
      var node = kept[sig];
      if (!node) {
        node = card(entry);
        node.dataset.signature = sig;
      }
      delete kept[sig];
      return node;
    });
    clear(gallery);
    nodes.forEach(function (node) { gallery.appendChild(node); });
  }

  function listQuery(after) {
    var query = "elements?thumbnails=yes&limit=20";
    var state = $("state-filter").value;
    if (state) { query += "&state=" + encodeURIComponent(state); }
    if (after) { query += "&cursor=" + encodeURIComponent(after); }
    return query;
  }

  function loadList(older) {
    return api("GET", listQuery(older ? cursor : null)).then(function (answer) {
      var gallery = $("gallery");
      if (answer.status !== 200 || !answer.body) {
        if (answer.status !== 401) { say("status", "The list could not be read: " + problem(answer)); }
        return null;
      }
      var entries = answer.body.elements || [];
      if (older) {
        entries.forEach(function (entry) { gallery.appendChild(card(entry)); });
      } else {
        render(gallery, entries);
      }
      if (!gallery.firstChild) { gallery.appendChild(el("li", "No submissions yet.", "empty")); }
      cursor = answer.body.next || null;
      $("more").hidden = !cursor;
      say("status", "Signed in. " + new Date().toLocaleTimeString() + ": list loaded.");
      return answer.body.elements || [];
    });
  }

  function refreshAll() {
    loadCounts();
    return loadList(false);
  }

  function schedule() {
    if (refreshTimer) { clearInterval(refreshTimer); }
    refreshTimer = setInterval(function () {
      if (token() && !document.hidden) { refreshAll(); }
    }, 10000);
  }

  // ---- a new element
  function typeOf(file) {
    var ext = (file.name.split(".").pop() || "").toLowerCase();
    return TYPES[ext] || file.type || "application/octet-stream";
  }

  function showFiles() {
    var list = $("file-list");
    clear(list);
    chosen.forEach(function (file, n) {
      var item = el("li");
      var label = el("span", (n === 0 ? "frontal: " : "") + file.name + " (" + file.size + " bytes)");
      var bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      bar.id = "progress-" + n;
      bar.setAttribute("aria-label", "upload of " + file.name);
      item.appendChild(label);
      item.appendChild(bar);
      list.appendChild(item);
    });
  }

  function put(url, headers, body, bar) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open("PUT", url);
      Object.keys(headers || {}).forEach(function (name) { xhr.setRequestHeader(name, headers[name]); });
      if (bar) {
        xhr.upload.onprogress = function (event) {
          if (event.lengthComputable) { bar.value = Math.round((event.loaded / event.total) * 100); }
        };
      }
      xhr.onload = function () {
        if (xhr.status >= 200 && xhr.status < 300) {
          if (bar) { bar.value = 100; }
          resolve();
        } else { reject(new Error("the bucket answered HTTP " + xhr.status)); }
      };
      xhr.onerror = function () { reject(new Error("the bucket could not be reached (CORS rule?)")); };
      xhr.send(body);
    });
  }

  // One broken rule: its field and the rule, as text.
  function problemItem(detail) {
    var item = el("li");
    item.appendChild(el("span", detail.field, "field"));
    item.appendChild(document.createTextNode(": "));
    item.appendChild(el("span", detail.problem, "rule"));
    return item;
  }

  function showProblems(answer) {
    var list = $("upload-problems");
    clear(list);
    var details = (answer.body && answer.body.error && answer.body.error.details) || [];
    details.forEach(function (detail) { list.appendChild(problemItem(detail)); });
  }

  function watch(bucket, folder) {
    var started = Date.now();
    var seen = null;
    function look() {  // the plain list (no thumbnails: cheap); the gallery is redrawn on a change
      return api("GET", "elements?limit=20").then(function (answer) {
        var found = null;
        ((answer.body && answer.body.elements) || []).forEach(function (entry) {
          var source = entry.source || {};
          var keys = source.keys || [];
          if (!found && source.bucket === bucket && keys.length && keys[0].indexOf(folder) === 0) {
            found = entry;
          }
        });
        var now = found ? found.state + " " + (found.element_ids || []).join(",") : null;
        if (answer.status === 200 && now !== seen) { seen = now; loadList(false); }
        if (found && found.state === "completed" && found.element_ids && found.element_ids.length) {
          say("upload-status", "Completed: element id " + found.element_ids.join(", "));
          return;
        }
        if (found && found.state === "failed") {
          say("upload-status", "Failed: " + ((found.error && found.error.code) || "see the list"));
          return;
        }
        say("upload-status", found ? "State: " + found.state + " (waiting for the element id)"
          : "Uploaded; waiting for the upload trigger to submit it");
        if (Date.now() - started < 15 * 60 * 1000) { setTimeout(look, 1500); }
      });
    }
    return look();
  }

  function upload(event) {
    event.preventDefault();
    clear($("upload-problems"));
    if (!token()) { say("upload-status", "Paste the API token first."); return; }
    var body = { name: $("name").value.trim(), files: chosen.map(function (file) {
      return { name: file.name, size: file.size, content_type: typeOf(file) };
    }) };
    var description = $("description").value.trim();
    var tags = $("tags").value.split(",").map(function (t) { return t.trim(); }).filter(Boolean);
    if (description) { body.description = description; }
    if (tags.length) { body.tags = tags; }
    $("upload").disabled = true;
    say("upload-status", "Asking for upload URLs...");
    api("POST", "uploads", body).then(function (answer) {
      if (answer.status !== 200) {
        say("upload-status", "Refused: " + problem(answer));
        showProblems(answer);
        return null;
      }
      var plan = answer.body;
      say("upload-status", "Uploading " + plan.uploads.length + " file(s) to " + plan.folder);
      var puts = plan.uploads.map(function (item, n) {
        return put(item.url, item.headers, chosen[n], $("progress-" + n));
      });
      return Promise.all(puts).then(function () {
        var manifest = plan.manifest;
        return put(manifest.url, manifest.headers, JSON.stringify(manifest.body), null);
      }).then(function () {
        var folder = plan.manifest.key.slice(0, plan.manifest.key.lastIndexOf("/") + 1);
        var bucket = plan.folder.split("://")[1].split("/")[0];
        say("upload-status", "Uploaded; waiting for the upload trigger to submit it");
        return watch(bucket, folder);
      });
    }).catch(function (error) {
      say("upload-status", "Upload failed: " + error.message);
    }).then(function () { $("upload").disabled = false; });
  }

  function choose(files) {
    chosen = Array.prototype.slice.call(files || []);
    showFiles();
  }

  // ---- backfill
  function backfill(event) {
    event.preventDefault();
    var prefix = $("prefix").value.trim() || "elements/";
    var totals = { found: 0, submitted: 0, already_done: 0, waiting: 0, failed: 0 };
    var passes = 0;
    var bar = $("backfill-progress");
    $("backfill").disabled = true;
    bar.hidden = false;
    bar.removeAttribute("value");
    function pass(next) {
      var body = { prefix: prefix };
      if (next) { body.cursor = next; }
      return api("POST", "folders/scan", body).then(function (answer) {
        if (absent(answer)) {
          say("backfill-status", "Backfill is not available on this deployment (POST /folders/scan).");
          return;
        }
        if (answer.status !== 200 || !answer.body) {
          say("backfill-status", "Backfill stopped: " + problem(answer));
          return;
        }
        passes += 1;
        Object.keys(totals).forEach(function (k) { totals[k] += Number(answer.body[k] || 0); });
        var line = "found " + totals.found + ", submitted " + totals.submitted + ", already done " +
          totals.already_done + ", waiting " + totals.waiting + ", failed " + totals.failed +
          " (" + passes + " pass" +
          (passes > 1 ? "es" : "") + ")";
        if (answer.body.cursor) {
          say("backfill-status", "Scanning: " + line);
          return pass(answer.body.cursor);
        }
        say("backfill-status", "Done: " + line);
        refreshAll();
      });
    }
    pass(null).then(function () {
      $("backfill").disabled = false;
      bar.hidden = true;
    });
  }

  // ---- VOD's own element library
  function loadVod() {
    return api("GET", "vod/elements?offset=" + vodOffset + "&limit=" + VOD_LIMIT).then(function (answer) {
      var rows = $("vod-rows");
      clear(rows);
      if (absent(answer)) {
        say("vod-status", "VOD's element library is not available on this deployment (GET /vod/elements).");
        $("vod-table").hidden = true;
        return;
      }
      if (answer.status !== 200 || !answer.body) {
        say("vod-status", "VOD's library could not be read: " + problem(answer));
        return;
      }
      var body = answer.body;
      (body.elements || []).forEach(function (item) {
        var row = el("tr");
        row.setAttribute("data-element-id", item.element_id || "");
        row.appendChild(el("td", item.name));
        row.appendChild(el("td", item.element_id));
        row.appendChild(el("td", item.status));
        row.appendChild(el("td", item.created_at));
        var ours = el("td", item.ours ? "ours" : "-", item.ours ? "ours" : "");
        if (item.ours && item.session_id) { ours.appendChild(el("small", item.session_id)); }
        row.appendChild(ours);
        var cell = el("td");
        var remove = el("button", "Delete");
        remove.type = "button";
        remove.setAttribute("aria-label", "delete " + (item.name || item.element_id) + " from VOD");
        remove.addEventListener("click", function () { removeVod(item); });
        cell.appendChild(remove);
        row.appendChild(cell);
        rows.appendChild(row);
      });
      var total = Number(body.total || 0);
      $("vod-table").hidden = false;
      say("vod-page", total ? (vodOffset + 1) + "-" + Math.min(vodOffset + VOD_LIMIT, total) + " of " + total
        : "no elements");
      $("vod-prev").disabled = vodOffset === 0;
      $("vod-next").disabled = vodOffset + VOD_LIMIT >= total;
      say("vod-status", "");
    });
  }

  function removeVod(item) {
    var what = (item.name || "") + " (" + item.element_id + ")";
    if (!window.confirm("Delete the element " + what + " from VOD? This cannot be undone.")) { return; }
    api("DELETE", "vod/elements/" + encodeURIComponent(item.element_id)).then(function (answer) {
      var result = answer.status === 200 ? "Deleted " + what : "Not deleted: " + problem(answer);
      return loadVod().then(function () { say("vod-status", result); });
    });
  }

  // ---- wiring
  function start() {
    $("token-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var value = $("token").value.trim();
      $("token").value = "";
      if (!value) { return; }
      sessionStorage.setItem(KEY, value);
      say("status", "Checking the token...");
      refreshAll();
      schedule();
    });
    $("token-forget").addEventListener("click", function () {
      sessionStorage.removeItem(KEY);
      clear($("gallery"));
      say("status", "Token forgotten. Paste the API token to start.");
    });
    $("files").addEventListener("change", function (event) { choose(event.target.files); });
    var drop = $("drop");
    drop.addEventListener("dragover", function (event) { event.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
    drop.addEventListener("drop", function (event) {
      event.preventDefault();
      drop.classList.remove("over");
      choose(event.dataTransfer.files);
    });
    $("new-form").addEventListener("submit", upload);
    $("backfill-form").addEventListener("submit", backfill);
    $("refresh").addEventListener("click", refreshAll);
    $("state-filter").addEventListener("change", function () { loadList(false); });
    $("more").addEventListener("click", function () { loadList(true); });
    $("vod-load").addEventListener("click", function () { vodOffset = 0; loadVod(); });
    $("vod-prev").addEventListener("click", function () { vodOffset = Math.max(0, vodOffset - VOD_LIMIT); loadVod(); });
    $("vod-next").addEventListener("click", function () { vodOffset += VOD_LIMIT; loadVod(); });
    if (token()) {
      say("status", "Using the token of this browser session.");
      refreshAll();
      schedule();
    }
  }

  document.addEventListener("DOMContentLoaded", start);
}());
