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
      var dlg = document.getElementById("picker");
      if (dlg && dlg.close) dlg.close();
      if (pickTarget.hasAttribute("data-cond-field")) {
        pickCondField(pickTarget, expr, t.getAttribute("data-type"));
        return;
      }
      if (pickTarget.getAttribute("data-pick") === "value") {
        pickTarget.value = expr;
        pickTarget.classList.add("mono");
        var ref = pickTarget.closest("[data-cond-value]").querySelector("[data-cond-ref]");
        if (ref) ref.value = "true";
        pickTarget.focus();
        markDirty();
        return;
      }
      if (pickTarget.hasAttribute("data-pills")) {
        insertPill(pickTarget, expr);
        return;
      }
      var text = pickTarget.getAttribute("data-pick") === "expr" ? expr : "{{ " + expr + " }}";
      insert(pickTarget, text);
      return;
    }
    t = e.target.closest("[data-close]");
    if (t) {
      var d = t.closest("dialog");
      if (d && d.close) d.close();
    }
  });

  // fieldWords shows a path in words, as the server does: body › label › name.
  function fieldWords(p) {
    p = p.replace(/^trigger\./, "");
    if (p.indexOf("steps.") === 0) p = p.slice(6).replace(".output", "");
    return p.split(/[.\[\]]+/).filter(Boolean).map(function (s) {
      return s.replace(/^"(.*)"$/, "$1");
    }).join(" › ");
  }

  function pickCondField(hidden, expr, type) {
    var row = hidden.closest("[data-cond-row]");
    hidden.value = expr;
    var btn = row.querySelector(".cond-field");
    btn.classList.remove("cond-field-empty");
    btn.title = expr;
    row.querySelector("[data-cond-field-label]").textContent = fieldWords(expr);
    var sel = row.querySelector("[data-cond-type]");
    if (type && sel) {
      sel.value = type;
      condTypeChanged(row);
    }
    markDirty();
    btn.focus();
  }

  // condTypeChanged offers the operators of the row's value type.
  function condTypeChanged(row) {
    var type = row.querySelector("[data-cond-type]").value;
    var op = row.querySelector("[data-cond-op]");
    var first = null;
    Array.prototype.forEach.call(op.options, function (o) {
      var ok = (" " + o.getAttribute("data-types") + " ").indexOf(" " + type + " ") >= 0;
      o.hidden = !ok;
      o.textContent = type === "date" ? o.getAttribute("data-date-label") : o.getAttribute("data-label");
      if (ok && !first) first = o;
    });
    if (op.selectedOptions[0] && op.selectedOptions[0].hidden && first) op.value = first.value;
    condOpChanged(row);
  }

  function condOpChanged(row) {
    var o = row.querySelector("[data-cond-op]").selectedOptions[0];
    var v = row.querySelector("[data-cond-value]");
    if (o && v) v.hidden = o.hasAttribute("data-novalue");
  }

  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.matches("[data-cond-type]")) condTypeChanged(t.closest("[data-cond-row]"));
    else if (t.matches("[data-cond-op]")) condOpChanged(t.closest("[data-cond-row]"));
  });

  document.addEventListener("input", function (e) {
    var t = e.target;
    if (t.getAttribute("data-pick") === "value") {
      var ref = t.closest("[data-cond-value]").querySelector("[data-cond-ref]");
      if (ref && ref.value === "true") { ref.value = "false"; t.classList.remove("mono"); }
    }
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

  // Unsaved changes: asked before leaving the editor (beforeunload and
  // in-app links); Ctrl/Cmd-S saves.
  var dirty = false;
  function markDirty() { if (document.getElementById("flow-form")) dirty = true; }
  function syncDirty() {
    var ed = document.getElementById("editor");
    if (ed) dirty = ed.hasAttribute("data-dirty");
  }
  document.addEventListener("input", function (e) {
    if (e.target.closest && e.target.closest("#flow-form") && !e.target.matches("[data-palette-search], [data-picker-search]")) markDirty();
  }, true);
  document.addEventListener("change", function (e) {
    if (e.target.closest && e.target.closest("#flow-form")) markDirty();
  }, true);
  window.addEventListener("beforeunload", function (e) {
    if (!dirty) return;
    e.preventDefault();
    e.returnValue = "";
  });
  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("a[href]");
    if (!a || !dirty || a.hasAttribute("download") || a.getAttribute("href").charAt(0) === "#") return;
    if (!window.confirm("This flow has unsaved changes. Leave without saving them?")) {
      e.preventDefault();
      e.stopPropagation();
    } else {
      dirty = false;
    }
  }, true);
  document.addEventListener("submit", function (e) {
    if (e.target.id !== "flow-form") dirty = false;
  }, true);
  document.addEventListener("keydown", function (e) {
    if ((e.ctrlKey || e.metaKey) && !e.altKey && (e.key === "s" || e.key === "S")) {
      var save = document.querySelector('#flow-form [data-testid="save"]');
      if (!save) return;
      e.preventDefault();
      save.click();
    }
  });

  document.addEventListener("DOMContentLoaded", function () { focusMarked(document); syncDirty(); });
  document.addEventListener("htmx:afterSettle", function (e) {
    syncDirty();
    var t = e.target.querySelector && e.target.querySelector("[data-toast]");
    if (t) {
      document.querySelectorAll(".flash:not(.toast)").forEach(function (f) { f.remove(); });
      toast(t.getAttribute("data-toast"), "ok");
    }
  });
  document.addEventListener("htmx:afterSettle", function (e) { focusMarked(e.target); });
  window.hookflowMarkDirty = markDirty;
  document.addEventListener("htmx:responseError", function (e) {
    var x = e.detail.xhr;
    toast((x && x.responseText) || "The request failed.");
  });
  document.addEventListener("htmx:sendError", function () {
    toast("Hookflow is not reachable. Check that the server runs.");
  });
})();
