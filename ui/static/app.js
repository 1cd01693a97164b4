// Hookflow UI helpers: copy buttons, palette search, the field picker,
// focus after editor changes, and errors from htmx requests.
(function () {
  "use strict";

  var pickTarget = null;

  function toast(text, kind) {
    var el = document.createElement("div");
    el.className = "flash toast flash-" + (kind || "error");
    el.setAttribute("role", kind === "ok" ? "status" : "alert");
    el.setAttribute("data-testid", "toast");
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
      if (pickTarget.hasAttribute("data-pill-edit")) {
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


  // ---- Pill inputs: template fields whose {{ }} placeholders are tokens.
  var pillRanges = new WeakMap();

  function pillHidden(edit) { return document.getElementById(edit.getAttribute("data-pill-edit")); }

  // serializePills writes the template text of a pill input.
  function serializePills(edit) {
    var out = "";
    function walk(n, first) {
      for (var c = n.firstChild; c; c = c.nextSibling) {
        if (c.nodeType === 3) {
          out += c.nodeValue.replace(/\u00a0/g, " ");
        } else if (c.nodeType === 1) {
          if (c.classList.contains("pill")) {
            out += c.getAttribute("data-raw");
          } else if (c.tagName === "BR") {
            if (c.nextSibling || c.parentNode !== edit) out += "\n";
          } else {
            if ((c.tagName === "DIV" || c.tagName === "P") && out !== "") out += "\n";
            walk(c);
          }
        }
      }
    }
    walk(edit);
    return out;
  }

  function pillsChanged(edit) {
    var h = pillHidden(edit);
    if (!h) return;
    h.value = serializePills(edit);
    edit.classList.toggle("is-empty", h.value === "");
    markDirty();
    schedulePreview(edit.id, h.value);
  }

  function saveRange(edit) {
    var sel = window.getSelection();
    if (sel.rangeCount && edit.contains(sel.getRangeAt(0).startContainer)) pillRanges.set(edit, sel.getRangeAt(0).cloneRange());
  }

  function makePill(expr, raw) {
    var sp = document.createElement("span");
    sp.className = "pill";
    sp.setAttribute("contenteditable", "false");
    sp.setAttribute("tabindex", "0");
    sp.setAttribute("role", "button");
    sp.setAttribute("aria-haspopup", "menu");
    sp.setAttribute("data-testid", "pill");
    setPill(sp, expr, raw, fieldWords(expr));
    return sp;
  }

  function setPill(sp, expr, raw, label) {
    sp.setAttribute("data-expr", expr);
    sp.setAttribute("data-raw", raw || "{{ " + expr + " }}");
    sp.title = expr;
    sp.textContent = label;
  }

  function insertNodeAtCaret(edit, node) {
    var r = pillRanges.get(edit);
    if (!r || !edit.contains(r.startContainer)) {
      r = document.createRange();
      r.selectNodeContents(edit);
      r.collapse(false);
    }
    r.deleteContents();
    r.insertNode(node);
    r.setStartAfter(node);
    r.collapse(true);
    edit.focus();
    var sel = window.getSelection();
    sel.removeAllRanges();
    sel.addRange(r);
    pillRanges.set(edit, r.cloneRange());
  }

  function insertPill(edit, expr) {
    insertNodeAtCaret(edit, makePill(expr));
    pillsChanged(edit);
  }

  document.addEventListener("input", function (e) {
    var edit = e.target.closest && e.target.closest("[data-pill-edit]");
    if (edit) { saveRange(edit); pillsChanged(edit); }
  });
  document.addEventListener("keyup", function (e) {
    var edit = e.target.closest && e.target.closest("[data-pill-edit]");
    if (edit) saveRange(edit);
  });
  document.addEventListener("mouseup", function (e) {
    var edit = e.target.closest && e.target.closest("[data-pill-edit]");
    if (edit) saveRange(edit);
  });
  document.addEventListener("paste", function (e) {
    var edit = e.target.closest && e.target.closest("[data-pill-edit]");
    if (!edit) return;
    e.preventDefault();
    var text = (e.clipboardData || window.clipboardData).getData("text/plain");
    if (edit.getAttribute("aria-multiline") !== "true") text = text.replace(/\r?\n/g, " ");
    saveRange(edit);
    insertNodeAtCaret(edit, document.createTextNode(text));
    pillsChanged(edit);
  });
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    if (t.classList && t.classList.contains("pill")) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); openPillMenu(t); return; }
      if (e.key === "Delete" || e.key === "Backspace") {
        e.preventDefault();
        var ed = t.closest("[data-pill-edit]");
        t.remove();
        ed.focus();
        pillsChanged(ed);
        return;
      }
    }
    var edit = t.closest && t.closest("[data-pill-edit]");
    if (edit && e.key === "Enter") {
      e.preventDefault();
      if (edit.getAttribute("aria-multiline") === "true") {
        saveRange(edit);
        insertNodeAtCaret(edit, document.createTextNode("\n"));
        pillsChanged(edit);
      }
    }
    if (e.key === "Escape") closePillMenu(true);
  });

  // The pill menu: transforms that write the helper call.
  var menuPill = null;
  function openPillMenu(pill) {
    var m = document.getElementById("pill-menu");
    if (!m) return;
    menuPill = pill;
    var r = pill.getBoundingClientRect();
    m.hidden = false;
    m.style.top = (window.scrollY + r.bottom + 4) + "px";
    m.style.left = Math.max(8, Math.min(window.scrollX + r.left, window.scrollX + document.documentElement.clientWidth - m.offsetWidth - 8)) + "px";
    var first = m.querySelector("button");
    if (first) first.focus();
  }
  function closePillMenu(refocus) {
    var m = document.getElementById("pill-menu");
    if (!m || m.hidden) return;
    m.hidden = true;
    if (refocus && menuPill && document.body.contains(menuPill)) menuPill.focus();
    menuPill = null;
  }
  function quote(s) { return JSON.stringify(s); }
  document.addEventListener("click", function (e) {
    var pill = e.target.closest && e.target.closest(".pill");
    if (pill && pill.closest("[data-pill-edit]")) { e.preventDefault(); openPillMenu(pill); return; }
    var b = e.target.closest && e.target.closest("#pill-menu button");
    if (b && menuPill) {
      var edit = menuPill.closest("[data-pill-edit]");
      if (b.hasAttribute("data-pill-remove")) {
        menuPill.remove();
        closePillMenu(false);
        edit.focus();
      } else {
        var tpl = b.getAttribute("data-pill-tpl"), ask = b.getAttribute("data-pill-ask");
        var expr = menuPill.getAttribute("data-expr"), val = "";
        if (ask) {
          val = window.prompt(ask, "");
          if (val === null) { closePillMenu(true); return; }
        }
        var next = tpl.split("%s").join(expr).split("%v").join(quote(val));
        setPill(menuPill, next, null, menuPill.textContent + " · " + b.getAttribute("data-pill-label"));
        closePillMenu(true);
      }
      pillsChanged(edit);
      return;
    }
    if (!(e.target.closest && e.target.closest("#pill-menu"))) closePillMenu(false);
  });

  // Live preview: what the field resolves to with the test event.
  var previewTimers = {};
  function schedulePreview(id, text) {
    var box = document.querySelector('[data-preview-for="' + id + '"]');
    var ed = document.getElementById("editor");
    var csrf = document.querySelector('#flow-form input[name="_csrf"]');
    if (!box || !ed || !csrf) return;
    clearTimeout(previewTimers[id]);
    previewTimers[id] = setTimeout(function () {
      var body = new URLSearchParams();
      body.set("t", text);
      fetch("/flows/" + encodeURIComponent(ed.getAttribute("data-flow")) + "/preview", {
        method: "POST", credentials: "same-origin", body: body,
        headers: { "X-CSRF-Token": csrf.value, "Content-Type": "application/x-www-form-urlencoded" }
      }).then(function (r) { return r.ok ? r.text() : ""; })
        .then(function (html) { box.innerHTML = html; box.setAttribute("data-fresh", "1"); })
        .catch(function () {});
    }, 250);
  }
  document.addEventListener("input", function (e) {
    var t = e.target;
    if (t.id && (t.tagName === "INPUT" || t.tagName === "TEXTAREA") && document.querySelector('[data-preview-for="' + t.id + '"]')) {
      schedulePreview(t.id, t.value);
    }
  });
  // A test event just arrived (the listen panel was redrawn with it): the
  // previews, rendered with the old one or none, are computed again.
  document.addEventListener("htmx:afterSettle", function (e) {
    var root = e.target;
    if (!root.querySelector || document.getElementById("editor") === root || !root.querySelector('[data-testid="sample"]')) return;
    document.querySelectorAll("[data-preview-for]").forEach(function (box) {
      var id = box.getAttribute("data-preview-for");
      var el = document.getElementById(id);
      if (!el) return;
      var hidden = el.hasAttribute("data-pill-edit") ? document.getElementById(el.getAttribute("data-pill-edit")) : null;
      schedulePreview(id, hidden ? hidden.value : el.value);
    });
  });


  // A schedule left in UTC while the browser's zone differs.
  function tzWarn(root) {
    var el = (root || document).querySelector("[data-tz-warn]");
    if (!el) return;
    var zone = "";
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { return; }
    var set = el.getAttribute("data-tz-warn");
    if (!zone || zone === "UTC" || zone === "Etc/UTC" || set !== "UTC") return;
    el.textContent = "This schedule runs in UTC, but your browser's time zone is " + zone + ". ";
    var b = document.createElement("button");
    b.type = "button";
    b.className = "btn btn-sm";
    b.textContent = "Use " + zone;
    b.setAttribute("data-testid", "tz-use");
    b.addEventListener("click", function () {
      var id = el.getAttribute("data-tz-input");
      var edit = document.getElementById(id);
      if (edit && edit.hasAttribute("data-pill-edit")) {
        edit.textContent = zone;
        pillsChanged(edit);
      } else if (edit) {
        edit.value = zone;
        markDirty();
      }
      el.hidden = true;
    });
    el.appendChild(b);
    el.hidden = false;
  }
  document.addEventListener("DOMContentLoaded", function () { focusMarked(document); syncDirty(); tzWarn(document); });
  document.addEventListener("htmx:afterSettle", function (e) {
    var ed = document.getElementById("editor");
    if (ed && (e.target === ed || e.target.contains(ed))) syncDirty(); // the editor itself was redrawn
    tzWarn(e.target);
    var t = e.target.querySelector && e.target.querySelector("[data-toast]");
    if (t) {
      document.querySelectorAll(".flash:not(.toast)").forEach(function (f) { f.remove(); });
      toast(t.getAttribute("data-toast"), "ok");
    }
  });
  document.addEventListener("htmx:afterSettle", function (e) { focusMarked(e.target); });
  window.hookflowMarkDirty = markDirty;
  // Ask once per kind before a step test calls an outside service.
  // ---- Secret fields: a reference to a secret is a pill chosen by name; the
  // hidden input carries "{{ secrets.NAME }}" (or the value typed instead).
  function setSecret(box, name) {
    var hidden = box.querySelector("[data-secret-value]");
    var text = box.querySelector("[data-secret-text]");
    var pill = box.querySelector("[data-secret-pill]");
    var clear = box.querySelector("[data-secret-clear]");
    var sel = box.querySelector("[data-secret-select]");
    if (name) {
      hidden.value = "{{ secrets." + name + " }}";
      text.value = "";
      pill.querySelector("[data-secret-name]").textContent = name;
    } else {
      hidden.value = text.value;
    }
    pill.hidden = !name;
    if (clear) clear.hidden = !name;
    text.hidden = !!name;
    if (sel) {
      sel.value = "";
      if (sel.options.length > 1) sel.options[0].textContent = name ? "Change secret…" : "Use a secret…";
    }
    markDirty();
  }
  document.addEventListener("change", function (e) {
    var t = e.target;
    if (t.matches("[data-secret-select]") && t.value) {
      var box = t.closest("[data-secret-field]");
      setSecret(box, t.value);
      t.focus();
    }
  });
  document.addEventListener("input", function (e) {
    var t = e.target;
    if (t.matches("[data-secret-text]")) t.closest("[data-secret-field]").querySelector("[data-secret-value]").value = t.value;
  });
  document.addEventListener("click", function (e) {
    var t = e.target.closest && e.target.closest("[data-secret-clear]");
    if (!t) return;
    var box = t.closest("[data-secret-field]");
    setSecret(box, "");
    box.querySelector("[data-secret-text]").focus();
  });

  document.addEventListener("htmx:confirm", function (e) {
    var el = e.detail.elt;
    var msg = el && el.getAttribute && el.getAttribute("data-confirm-once");
    if (!msg) return;
    var key = "hookflow-confirmed:" + el.getAttribute("data-kind");
    try { if (sessionStorage.getItem(key)) return; } catch (x) { /* no storage: ask */ }
    e.preventDefault();
    if (window.confirm(msg)) {
      try { sessionStorage.setItem(key, "1"); } catch (x) { /* asked again next time */ }
      e.detail.issueRequest(true);
    }
  });
  document.addEventListener("htmx:responseError", function (e) {
    var x = e.detail.xhr;
    toast((x && x.responseText) || "The request failed.");
  });
  document.addEventListener("htmx:sendError", function () {
    toast("Hookflow is not reachable. Check that the server runs.");
  });
})();
