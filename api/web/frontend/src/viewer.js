// The read-only diagram of a procedure version, a dossier, a validation report, a diff or a
// heat map. Each `<div class="diagram" data-diagram="ID">` names a
// `<script type="application/json" id="ID">` holding {xml, marks}. Without JavaScript the
// page shows the tables beside it; the diagram replaces only its own fallback text.
import NavigatedViewer from "bpmn-js/lib/NavigatedViewer";
import { layoutProcess } from "bpmn-auto-layout";

import { applyMarks, linkRows, readJson } from "./marks.js";

async function show(container) {
  const data = readJson(container.getAttribute("data-diagram"));
  if (!data || !data.xml) {
    container.setAttribute("data-state", "empty");
    return;
  }
  const canvas = document.createElement("div");
  canvas.className = "diagram-canvas";
  container.replaceChildren(canvas);
  const viewer = new NavigatedViewer({ container: canvas });
  try {
    let xml = data.xml;
    if (!/BPMNShape/.test(xml)) {
      // A model written without a diagram (by hand, or by a tool that drops it): laid out
      // here for reading only; lanes are not drawn then.
      xml = await layoutProcess(xml);
      container.setAttribute("data-layout", "auto");
      const note = document.createElement("p");
      note.className = "diagram-note";
      note.textContent = container.getAttribute("data-auto-layout-text") || "";
      container.after(note);
    }
    const { warnings } = await viewer.importXML(xml);
    if (warnings && warnings.length) {
      container.setAttribute("data-warnings", String(warnings.length));
    }
  } catch (error) {
    const message = document.createElement("p");
    message.className = "diagram-error";
    message.textContent = (container.getAttribute("data-error-text") || "") + " " + error.message;
    container.replaceChildren(message);
    container.setAttribute("data-state", "error");
    return;
  }
  viewer.get("canvas").zoom("fit-viewport", "auto");
  applyMarks(viewer, data.marks);
  linkRows(viewer, container);
  container.isoViewer = viewer;
  container.setAttribute("data-state", "ready");
}

for (const container of document.querySelectorAll("[data-diagram]")) {
  show(container);
}
