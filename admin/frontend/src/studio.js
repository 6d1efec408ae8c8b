/* Rukun studio: the draft editor (GET /definitions/drafts/<id>/).
 *
 * The page works as a plain form without this script. With it, the definition's textarea
 * is replaced by a CodeMirror 6 editor (line numbers, YAML highlighting) that
 * - keeps the textarea in the form, hidden, and copies the text into it on every change,
 *   so "Simpan draf" still submits `source` as before;
 * - asks the server's validator (the form's data-check-url; nothing is saved) about the text
 *   ~400 ms after typing stops, marks each problem at its line and column, and updates the
 *   problem list, the status line and the diagram beside the editor.
 * Every text shown comes from the page (rendered by the server in the UI language).
 * Bundled by esbuild (npm run build in admin/frontend) into admin/static/build/studio.js. */

import { basicSetup } from "codemirror";
import { yaml } from "@codemirror/lang-yaml";
import { forEachDiagnostic, lintGutter, linter } from "@codemirror/lint";
import { EditorState } from "@codemirror/state";
import { EditorView } from "@codemirror/view";

/** Pause after the last keystroke before the text is checked. */
const CHECK_DELAY_MS = 400;

/**
 * The page's Content-Security-Policy allows inline <style> only with the response's nonce,
 * which the page puts on this script's tag: CodeMirror writes its styles into a <style>
 * element carrying it. Read now, while this script runs (currentScript is null later).
 */
const STYLE_NONCE = (document.currentScript && document.currentScript.nonce) || "";

// ---- the check request --------------------------------------------------------------------

/** What a check resolves to when the text changed while it waited for its turn. */
const STALE = Symbol("stale");

/**
 * A function that POSTs a text to the check URL, one request at a time: a call waits for the
 * request in flight, then sends its text only if it is still the editor's (`isCurrent()`).
 * Resolves to the server's answer, to null when the network or the server failed (the caller
 * then keeps what it showed), or to STALE.
 */
function checkService(url, csrfToken) {
  let inFlight = null;

  async function post(text) {
    const body = new URLSearchParams({ source: text, csrf_token: csrfToken });
    const response = await fetch(url, {
      method: "POST",
      body,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken },
    });
    // 413 (text too large) carries {"error"} to show; any other failure is not ours to show.
    if (!response.ok && response.status !== 413) return null;
    const type = response.headers.get("Content-Type") || "";
    return type.includes("application/json") ? response.json() : null;
  }

  return async function check(text, isCurrent) {
    while (inFlight) await inFlight;
    if (!isCurrent()) return STALE;
    // Set in the same turn as the loop above ends, so no other call slips in between.
    const request = post(text).catch(() => null);
    inFlight = request.then(() => {
      inFlight = null;
    });
    return request;
  };
}

// ---- problems as editor diagnostics -------------------------------------------------------

/** The document range a problem at 1-based `line`/`col` marks: the word there, clamped. */
function problemRange(state, line, col) {
  const doc = state.doc;
  const at = doc.line(Math.min(Math.max(1, line || 1), doc.lines));
  const from = at.from + Math.min(Math.max(0, (col || 1) - 1), at.length);
  const word = state.wordAt(from);
  if (word && word.from === from) return { from, to: word.to };
  // Not at a word: mark the rest of the line, or a point on an empty line.
  return { from, to: from < at.to ? at.to : from };
}

function toDiagnostic(state, problem) {
  const severity = problem.severity === "warning" ? "warning" : "error";
  return { ...problemRange(state, problem.line, problem.col), severity, message: problem.message };
}

/** The diagnostics the editor shows now (mapped through the edits since they were set). */
function currentDiagnostics(state) {
  const shown = [];
  forEachDiagnostic(state, (diagnostic, from, to) => shown.push({ ...diagnostic, from, to }));
  return shown;
}

// ---- the panel beside the editor ------------------------------------------------------------

/**
 * The status line, problem list and diagram beside the editor, updated from a check answer
 * with the same markup the server renders.
 */
class CheckPanel {
  constructor(status, problems, diagram) {
    this.status = status;
    this.problems = problems;
    this.diagram = diagram;
  }

  show(answer) {
    if (answer.error) {
      // e.g. the text is too large: the server's message, nothing else changes
      this.setStatus(answer.error, false);
      return;
    }
    const problems = answer.problems || [];
    this.showProblems(problems);
    if (!answer.valid) {
      // the last valid diagram stays; only the status says the text is not valid now
      this.setStatus(this.status.dataset.invalid, false);
      return;
    }
    const clean = problems.length === 0;
    this.setStatus(clean ? this.status.dataset.clean : this.status.dataset.warnings, clean);
    if (answer.diagram) this.diagram.innerHTML = answer.diagram;
  }

  setStatus(text, clean) {
    if (this.status.textContent.trim() !== text) this.status.textContent = text;
    this.status.classList.toggle("text-success", clean);
  }

  showProblems(problems) {
    const labels = this.problems.dataset;
    const items = problems.map((problem) => {
      const error = problem.severity !== "warning";
      const item = document.createElement("li");
      item.className = `rukun-problem rukun-${error ? "error" : "warning"}`;
      item.dataset.line = String(problem.line);
      item.dataset.col = String(problem.col);
      item.tabIndex = 0;
      const badge = document.createElement("span");
      badge.className = `badge badge-${error ? "danger" : "warning"}`;
      badge.textContent = error ? labels.errorLabel : labels.warningLabel;
      const where = labels.position
        .replace("{line}", String(problem.line))
        .replace("{col}", String(problem.col));
      item.append(badge, ` ${where}: ${problem.message}`);
      return item;
    });
    this.problems.replaceChildren(...items);
  }
}

// ---- the editor ---------------------------------------------------------------------------

/** The lint source: the text checked by the server, the panel updated with fresh answers. */
function serverLinter(check, panel) {
  return async (view) => {
    const doc = view.state.doc;
    const isCurrent = () => view.state.doc === doc;
    const answer = await check(doc.toString(), isCurrent);
    // Typed on meanwhile: the lint plugin drops this result and checks the newer text.
    if (answer === STALE || !isCurrent()) return [];
    if (answer === null || answer.error) {
      // Offline or refused: keep the marks as they were, say nothing alarming.
      if (answer) panel.show(answer);
      return currentDiagnostics(view.state);
    }
    panel.show(answer);
    return (answer.problems || []).map((problem) => toDiagnostic(view.state, problem));
  };
}

function moveTo(view, line, col) {
  const { from } = problemRange(view.state, line, col);
  view.dispatch({ selection: { anchor: from }, scrollIntoView: true });
  view.focus();
}

function editorTheme(rows) {
  return EditorView.theme({
    "&": {
      height: `${rows * 1.5}em`,
      border: "1px solid #ced4da",
      borderRadius: ".25rem",
      backgroundColor: "#fff",
      fontSize: "87.5%",
    },
    "&.cm-focused": { outline: "2px solid #80bdff", outlineOffset: "1px" },
    ".cm-scroller": {
      overflow: "auto",
      fontFamily: 'SFMono-Regular, Menlo, Monaco, Consolas, "Liberation Mono", monospace',
    },
  });
}

function startEditor(form) {
  const textarea = form.querySelector("#draft-source");
  const status = document.getElementById("draft-status");
  const problems = document.getElementById("draft-problems");
  const diagram = document.getElementById("draft-diagram");
  const token = form.querySelector("input[name=csrf_token]");
  if (!textarea || !status || !problems || !diagram || !token) return;

  const label = document.querySelector("label[for=draft-source]");
  const readOnly = textarea.readOnly;
  const panel = new CheckPanel(status, problems, diagram);
  const check = checkService(form.dataset.checkUrl, token.value);

  // The content element is the textbox: it takes the textarea's label and description, and
  // an explicit tabindex so checkers see the scrolling region has keyboard access.
  const contentAttributes = { tabindex: "0" };
  const description = textarea.getAttribute("aria-describedby");
  if (description) contentAttributes["aria-describedby"] = description;
  if (label && label.id) contentAttributes["aria-labelledby"] = label.id;
  else if (label) contentAttributes["aria-label"] = label.textContent.trim();
  if (readOnly) contentAttributes["aria-readonly"] = "true";

  const view = new EditorView({
    state: EditorState.create({
      doc: textarea.value,
      extensions: [
        basicSetup,
        yaml(),
        lintGutter(),
        linter(serverLinter(check, panel), { delay: CHECK_DELAY_MS }),
        EditorState.readOnly.of(readOnly),
        EditorView.contentAttributes.of(contentAttributes),
        EditorView.cspNonce.of(STYLE_NONCE),
        editorTheme(textarea.rows || 28),
        // The form submits the textarea: keep it equal to the editor's text.
        EditorView.updateListener.of((update) => {
          if (update.docChanged) textarea.value = update.state.doc.toString();
        }),
      ],
    }),
  });
  textarea.after(view.dom);
  textarea.hidden = true;

  if (label) label.addEventListener("click", () => view.focus());

  // A problem in the list moves the cursor to it (by click, or Enter on a focused item).
  for (const item of problems.querySelectorAll("li.rukun-problem")) item.tabIndex = 0;
  const goToProblem = (event) => {
    const item = event.target.closest("li.rukun-problem");
    if (!item) return;
    event.preventDefault();
    moveTo(view, Number(item.dataset.line), Number(item.dataset.col));
  };
  problems.addEventListener("click", goToProblem);
  problems.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") goToProblem(event);
  });
}

const form = document.getElementById("draft-form");
if (form && form.dataset.checkUrl) startEditor(form);
