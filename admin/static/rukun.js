/* Rukun operator screens: small enhancements on top of forms that work without script.
 * - money inputs show thousands separators as the user types (Rp 150.000.000);
 * - list fields (RAB lines, KUBE members) get rows added and removed;
 * - transition forms ask the server which guards hold as the user types;
 * - bulk actions and case migrations run in chunks with a progress bar.
 * Our own code, served from /static; nothing is loaded from elsewhere. */
(function () {
  "use strict";

  // ---- money -------------------------------------------------------------------------
  function groupDigits(digits) {
    digits = digits.replace(/^0+(?=\d)/, "");
    return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ".");
  }

  function formatMoney(input) {
    var before = input.value;
    var caret = input.selectionStart === null ? before.length : input.selectionStart;
    var digitsBeforeCaret = before.slice(0, caret).replace(/\D/g, "").length;
    var formatted = groupDigits(before.replace(/\D/g, ""));
    if (formatted === before) return;
    input.value = formatted;
    var position = 0;
    var seen = 0;
    while (position < formatted.length && seen < digitsBeforeCaret) {
      if (/\d/.test(formatted[position])) seen += 1;
      position += 1;
    }
    if (document.activeElement === input) input.setSelectionRange(position, position);
  }

  document.addEventListener("input", function (event) {
    if (event.target.classList && event.target.classList.contains("rukun-money")) {
      formatMoney(event.target);
    }
  });

  function formatAllMoney(root) {
    root.querySelectorAll("input.rukun-money").forEach(function (input) {
      if (input.value) formatMoney(input);
    });
  }

  // ---- list rows ---------------------------------------------------------------------
  function renumber(list) {
    list.querySelectorAll("tbody tr.rukun-row").forEach(function (row, index) {
      var cell = row.querySelector(".rukun-row-number");
      if (cell) cell.textContent = String(index + 1);
    });
    var max = parseInt(list.dataset.max || "0", 10);
    var add = list.querySelector(".rukun-add-row");
    if (add) add.disabled = max > 0 && list.querySelectorAll("tbody tr.rukun-row").length >= max;
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var add = target.closest(".rukun-add-row");
    if (add) {
      var list = add.closest(".rukun-list");
      var body = list.querySelector("tbody");
      var next = 0;
      body.querySelectorAll("[name]").forEach(function (input) {
        var match = /-(\d+)-/.exec(input.name);
        if (match) next = Math.max(next, parseInt(match[1], 10) + 1);
      });
      var html = list.querySelector("template.rukun-row-template").innerHTML;
      body.insertAdjacentHTML("beforeend", html.split("__index__").join(String(next)));
      renumber(list);
      var first = body.lastElementChild.querySelector("input, select, textarea");
      if (first) first.focus();
      return;
    }
    var remove = target.closest(".rukun-remove-row");
    if (remove) {
      var owner = remove.closest(".rukun-list");
      var rows = owner.querySelectorAll("tbody tr.rukun-row");
      var row = remove.closest("tr");
      if (rows.length > 1) {
        row.remove();
      } else {
        row.querySelectorAll("input, select, textarea").forEach(function (input) {
          if (input.type === "checkbox") input.checked = false;
          else input.value = "";
        });
      }
      renumber(owner);
      var form = owner.closest("form.rukun-transition");
      if (form) scheduleCheck(form);
    }
  });

  // ---- live guard checks ---------------------------------------------------------------
  var timers = new WeakMap();
  var sequence = new WeakMap();

  function scheduleCheck(form) {
    clearTimeout(timers.get(form));
    timers.set(form, setTimeout(function () { runCheck(form); }, 350));
  }

  function runCheck(form) {
    var data = new FormData(form);
    var names = [];
    data.forEach(function (value, name) {
      if (typeof value !== "string") names.push(name);
    });
    names.forEach(function (name) { data.delete(name); }); // files go up only on submit
    var mine = (sequence.get(form) || 0) + 1;
    sequence.set(form, mine);
    form.setAttribute("aria-busy", "true");
    fetch(form.dataset.checkUrl, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "Accept": "application/json" },
    })
      .then(function (response) {
        return response.json().then(function (body) { return { status: response.status, body: body }; });
      })
      .then(function (result) {
        if (sequence.get(form) !== mine) return; // a newer check is on its way
        var box = form.querySelector(".rukun-checks");
        if (result.status === 409) {
          box.innerHTML = "";
          var alert = document.createElement("div");
          alert.className = "alert alert-warning small mb-2 rukun-stale";
          alert.textContent = result.body.message;
          box.appendChild(alert);
          return;
        }
        if (result.body.html !== undefined) box.innerHTML = result.body.html;
        var button = form.querySelector("button[type=submit]");
        if (button && result.body.allowed !== undefined) {
          button.classList.toggle("btn-primary", result.body.allowed);
          button.classList.toggle("btn-outline-primary", !result.body.allowed);
        }
        form.closest(".card").classList.toggle("border-primary", !!result.body.allowed);
      })
      .catch(function () { /* offline or server down: the submit still checks everything */ })
      .then(function () {
        if (sequence.get(form) === mine) form.removeAttribute("aria-busy");
      });
  }

  function watchForms(root) {
    root.querySelectorAll("form.rukun-transition[data-check-url]").forEach(function (form) {
      form.addEventListener("input", function () { scheduleCheck(form); });
      form.addEventListener("change", function () { scheduleCheck(form); });
    });
  }

  // ---- bulk actions in chunks ----------------------------------------------------------
  // Without script the form posts every case at once and the server answers with the result
  // page; with it, cases go in chunks so a long batch shows its progress and its results
  // (rows rendered by the server) as they come.
  function runBulk(form, event) {
    var chosen = Array.prototype.slice.call(form.querySelectorAll("input[name=case_id]:checked"));
    var trigger = form.querySelector("[name=trigger]").value;
    if (!chosen.length || !trigger || !window.fetch) return; // the server explains
    event.preventDefault();
    var ids = chosen.map(function (box) { return box.value; });
    var size = parseInt(form.dataset.chunk || "10", 10);
    var panel = document.getElementById("bulk-progress");
    var bar = panel.querySelector(".progress-bar");
    var text = panel.querySelector(".rukun-progress-text");
    var rows = panel.querySelector("tbody");
    var button = form.querySelector("button[type=submit]");
    var token = form.querySelector("[name=csrf_token]").value;
    var counts = { ok: 0, failed: 0 };
    button.disabled = true;
    rows.innerHTML = "";
    panel.hidden = false;
    bar.classList.remove("bg-danger");

    function show(done) {
      var percent = Math.round((done / ids.length) * 100);
      bar.style.width = percent + "%";
      bar.setAttribute("aria-valuenow", String(percent));
      text.textContent = form.dataset.progressText
        .replace("{done}", String(done)).replace("{total}", String(ids.length))
        .replace("{ok}", String(counts.ok)).replace("{failed}", String(counts.failed));
    }

    function next(start) {
      if (start >= ids.length) {
        button.disabled = false;
        chosen.forEach(function (box) { box.checked = false; });
        panel.querySelector(".rukun-progress-done").hidden = false; // states in the list moved
        return null;
      }
      var body = new FormData();
      body.append("csrf_token", token);
      body.append("trigger", trigger);
      ids.slice(start, start + size).forEach(function (id) { body.append("case_id", id); });
      return fetch(form.action, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "Accept": "application/json" },
      })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.json();
        })
        .then(function (chunk) {
          chunk.results.forEach(function (result) {
            if (result.ok) counts.ok += 1; else counts.failed += 1;
          });
          rows.insertAdjacentHTML("beforeend", chunk.html);
          show(Math.min(ids.length, start + size));
          return next(start + size);
        });
    }

    show(0);
    next(0).catch(function () {
      text.textContent = form.dataset.failedText;
      bar.classList.add("bg-danger");
      button.disabled = false;
    });
  }

  function watchBulk(root) {
    var form = root.querySelector("form#bulk-form[data-progress-text]");
    if (form) form.addEventListener("submit", function (event) { runBulk(form, event); });
  }

  // ---- migrating cases in chunks ---------------------------------------------------------
  // Without script "Pindahkan" posts once and the server validates every selected case, then
  // moves each. With it, the page first asks for the dry run of the whole selection (so an
  // invalid request still changes nothing), then sends the valid cases in chunks and shows
  // the progress; an invalid request is posted as without script, to show why.
  function post(form, fields) {
    var body = new FormData(form);
    Object.keys(fields).forEach(function (name) { body.set(name, fields[name]); });
    // the attribute, not form.action: the form's buttons are named "action"
    return fetch(form.getAttribute("action"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json" },
    }).then(function (response) { return response.json(); });
  }

  function runMigration(form, event) {
    var submitter = event.submitter;
    if (!submitter || submitter.value !== "apply" || !window.fetch || form.dataset.plain) return;
    event.preventDefault();
    var panel = document.getElementById("migrate-progress");
    var bar = panel.querySelector(".progress-bar");
    var text = panel.querySelector(".rukun-progress-text");
    var rows = panel.querySelector("tbody");
    var size = parseInt(form.dataset.chunk || "25", 10);
    var buttons = form.querySelectorAll("button[type=submit]");
    function busy(on) { buttons.forEach(function (b) { b.disabled = on; }); }
    function plain() { // let the server answer the whole request as a page
      form.dataset.plain = "1";
      busy(false);
      submitter.click();
    }
    busy(true);
    text.textContent = "";
    post(form, { action: "dry_run" }).then(function (plan) {
      if (!plan.valid) return plain();
      var ids = plan.rows.map(function (row) { return String(row.case_id); });
      var done = 0;
      panel.hidden = false;
      rows.innerHTML = "";
      function show() {
        var percent = Math.round((done / ids.length) * 100);
        bar.style.width = percent + "%";
        bar.setAttribute("aria-valuenow", String(percent));
        text.textContent = form.dataset.progressText
          .replace("{done}", String(done)).replace("{total}", String(ids.length));
      }
      function next() {
        if (done >= ids.length) { busy(false); return null; }
        var chunk = ids.slice(done, done + size);
        return post(form, { action: "apply", cases: chunk.join(" ") }).then(function (answer) {
          rows.insertAdjacentHTML("beforeend", answer.html);
          done += chunk.length;
          show();
          return next();
        });
      }
      show();
      return next();
    }).catch(function () {
      text.textContent = form.dataset.failedText;
      bar.classList.add("bg-danger");
      busy(false);
    });
  }

  function watchMigration(root) {
    var form = root.querySelector("form#migrate-form[data-progress-text]");
    if (form) form.addEventListener("submit", function (event) { runMigration(form, event); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    formatAllMoney(document);
    watchForms(document);
    watchBulk(document);
    watchMigration(document);
  });
  // ---- replay slider: show the chosen step as it moves, load it when let go -----------
  document.addEventListener("input", function (event) {
    var slider = event.target;
    if (!slider.hasAttribute || !slider.hasAttribute("data-autosubmit")) return;
    var output = slider.form && slider.form.querySelector("output[for='" + slider.id + "']");
    if (output) output.textContent = slider.value;
  });
  document.addEventListener("change", function (event) {
    var slider = event.target;
    if (slider.hasAttribute && slider.hasAttribute("data-autosubmit") && slider.form) {
      slider.form.submit();
    }
  });
})();

/* The start form suggests the subjects of the chosen program (RTs, groups in scope). */
document.addEventListener("change", function (event) {
  var select = event.target;
  if (!(select instanceof HTMLSelectElement) || select.name !== "program") return;
  var form = select.closest("form.rukun-start");
  if (!form) return;
  var option = select.options[select.selectedIndex];
  form.querySelector("input[name=subject]").setAttribute("list", option.dataset.subjects);
});
