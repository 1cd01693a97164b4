// Hookflow UI helpers: copy buttons, palette search, the field picker,
// focus after editor changes, and errors from htmx requests.
(function () {
  "use strict";

  var pickTarget = null;

  function toast(text, kind) {
    var el = document.createElement("div");
    el.className = "flash toast flash-" + (kind || "error");
    el.setAttribute("role", "alert");
    el.textContent = text;
    document.body.appendChild(el);
    setTimeout(function () { el.remove(); }, 6000);
  }

  function copy(sel, btn) {
    var el = document.querySelector(sel);
    if (!el) return;
    var text = el.value !== undefined ? el.value : el.textContent;
    var done = function () {
      var old = btn.textContent;
      btn.textContent = "Copied";
      setTimeout(function () { btn.textContent = old; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { el.select(); document.execCommand("copy"); done(); });
    } else {
      el.select();
      document.execCommand("copy");
      done();
    }
  }

  function insert(input, text) {
    var start = input.selectionStart, end = input.selectionEnd;
    if (typeof start !== "number") { start = end = input.value.length; }
    input.value = input.value.slice(0, start) + text + input.value.slice(end);
    var pos = start + text.length;
    input.focus();
    try { input.setSelectionRange(pos, pos); } catch (e) { /* not a text input */ }
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function openPicker(input) {
    var dlg = document.getElementById("picker");
    if (!dlg) return;
    pickTarget = input;
    var body = document.getElementById("picker-body");
    var search = dlg.querySelector("[data-picker-search]");
    search.value = "";
    body.innerHTML = '<p class="muted">Loading fields…</p>';
    fetch(dlg.dataset.url, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) { body.innerHTML = html; })
      .catch(function () { body.innerHTML = '<p class="problem">Could not load the fields.</p>'; });
    if (dlg.showModal) { dlg.showModal(); } else { dlg.setAttribute("open", ""); }
    search.focus();
  }

  document.addEventListener("click", function (e) {
    var t = e.target.closest("[data-copy]");
    if (t) { e.preventDefault(); copy(t.getAttribute("data-copy"), t); return; }
    t = e.target.closest("[data-pick-for]");
    if (t) {
      var input = document.getElementById(t.getAttribute("data-pick-for"));
      if (input) openPicker(input);
      return;
    }
    t = e.target.closest(".picker-item");
    if (t && pickTarget) {
      var expr = t.getAttribute("data-expr");
      var text = pickTarget.getAttribute("data-pick") === "expr" ? expr : "{{ " + expr + " }}";
      var dlg = document.getElementById("picker");
      if (dlg && dlg.close) dlg.close();
      insert(pickTarget, text);
      return;
    }
    t = e.target.closest("[data-close]");
    if (t) {
      var d = t.closest("dialog");
      if (d && d.close) d.close();
    }
  });

  document.addEventListener("input", function (e) {
    var t = e.target;
    if (t.matches("[data-palette-search]")) {
      var q = t.value.trim().toLowerCase();
      var body = t.closest(".palette-body");
      body.querySelectorAll(".palette-item").forEach(function (b) {
        b.hidden = q !== "" && b.textContent.toLowerCase().indexOf(q) < 0;
      });
      body.querySelectorAll(".palette-group").forEach(function (g) {
        g.hidden = !g.querySelector(".palette-item:not([hidden])");
      });
    } else if (t.matches("[data-picker-search]")) {
      var q2 = t.value.trim().toLowerCase();
      document.querySelectorAll("#picker-body .picker-item").forEach(function (b) {
        b.hidden = q2 !== "" && b.textContent.toLowerCase().indexOf(q2) < 0;
      });
    }
  });

  // Opening a palette focuses its search box.
  document.addEventListener("toggle", function (e) {
    var d = e.target;
    if (d.classList && d.classList.contains("palette") && d.open) {
      var s = d.querySelector("[data-palette-search]");
      if (s) s.focus();
    }
  }, true);

  function focusMarked(root) {
    var m = (root || document).querySelector("[data-focus]");
    if (!m) return;
    var el = document.getElementById(m.getAttribute("data-focus"));
    if (el) {
      el.focus();
      el.scrollIntoView({ block: "center" });
    }
  }

  document.addEventListener("DOMContentLoaded", function () { focusMarked(document); });
  document.addEventListener("htmx:afterSettle", function (e) { focusMarked(e.target); });
  document.addEventListener("htmx:responseError", function (e) {
    var x = e.detail.xhr;
    toast((x && x.responseText) || "The request failed.");
  });
  document.addEventListener("htmx:sendError", function () {
    toast("Hookflow is not reachable. Check that the server runs.");
  });
})();
