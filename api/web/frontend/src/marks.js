// Marks the server computed (step results, the current step, validation problems, a diff,
// a heat map) drawn on a bpmn-js diagram, and the link between rows of the page's tables
// (`data-element-id`) and the diagram's elements. Shared by the viewer and the modeler.

const SVG_NS = "http://www.w3.org/2000/svg";

// A mark: {id, cls, title?, badge?}. `cls` becomes the marker `iso-<cls>`; `title` a
// tooltip (an SVG <title> on the element); `badge` a small label drawn under the element.
export function applyMarks(diagram, marks) {
  const registry = diagram.get("elementRegistry");
  const canvas = diagram.get("canvas");
  const overlays = diagram.get("overlays");
  const missing = [];
  for (const mark of marks || []) {
    const element = findElement(registry, mark.id);
    if (!element) {
      missing.push(mark.id);
      continue;
    }
    for (const cls of String(mark.cls || "").split(/\s+/).filter(Boolean)) {
      canvas.addMarker(element, "iso-" + cls);
    }
    if (mark.title) {
      setTooltip(registry.getGraphics(element), mark.title);
    }
    if (mark.badge) {
      const badge = document.createElement("span");
      badge.className = "iso-badge iso-badge-" + String(mark.cls || "").split(/\s+/)[0];
      badge.textContent = mark.badge;
      overlays.add(element, "iso-badge", { position: { bottom: 4, left: 0 }, html: badge });
    }
  }
  return missing;
}

export function clearMarks(diagram, marks) {
  const registry = diagram.get("elementRegistry");
  const canvas = diagram.get("canvas");
  diagram.get("overlays").remove({ type: "iso-badge" });
  for (const mark of marks || []) {
    const element = findElement(registry, mark.id);
    if (!element) continue;
    for (const cls of String(mark.cls || "").split(/\s+/).filter(Boolean)) {
      canvas.removeMarker(element, "iso-" + cls);
    }
    const gfx = registry.getGraphics(element);
    const title = gfx && gfx.querySelector(":scope > title.iso-title");
    if (title) title.remove();
  }
}

// An element by id; a process (which has no shape of its own in a collaboration) is
// found as the pool of its participant.
export function findElement(registry, id) {
  if (!id) return null;
  const element = registry.get(id);
  if (element) return element;
  return registry.find((e) => e.type === "bpmn:Participant" && e.businessObject.processRef
    && e.businessObject.processRef.id === id) || null;
}

function setTooltip(gfx, text) {
  if (!gfx) return;
  let title = gfx.querySelector(":scope > title.iso-title");
  if (!title) {
    title = document.createElementNS(SVG_NS, "title");
    title.setAttribute("class", "iso-title");
    gfx.insertBefore(title, gfx.firstChild);
  }
  title.textContent = text;
}

// Rows with data-element-id select their element on the diagram; clicking an element on
// the diagram highlights its rows.
export function linkRows(diagram, container, onSelect) {
  const registry = diagram.get("elementRegistry");
  const canvas = diagram.get("canvas");
  let selected = null;
  const select = (id, scroll) => {
    if (selected) canvas.removeMarker(selected, "iso-selected");
    selected = null;
    for (const row of document.querySelectorAll("[data-element-id].iso-row-selected")) {
      row.classList.remove("iso-row-selected");
    }
    const element = findElement(registry, id);
    if (!element) return false;
    canvas.addMarker(element, "iso-selected");
    selected = element;
    const processId = element.businessObject.processRef && element.businessObject.processRef.id;
    for (const row of document.querySelectorAll("[data-element-id]")) {
      const rowId = row.getAttribute("data-element-id");
      if (rowId === element.id || (processId && rowId === processId)) row.classList.add("iso-row-selected");
    }
    if (scroll) {
      canvas.scrollToElement(element, { top: 80, bottom: 80, left: 120, right: 120 });
      container.scrollIntoView({ block: "nearest" });
    }
    container.setAttribute("data-selected", element.id);
    return true;
  };
  document.addEventListener("click", (event) => {
    const row = event.target.closest("[data-element-id]");
    if (!row || container.contains(row)) return;
    if (event.target.closest("a, button, input, select, textarea, label")) return;
    select(row.getAttribute("data-element-id"), true);
    if (onSelect) onSelect(selected);
  });
  diagram.get("eventBus").on("element.click", (event) => {
    select(event.element && event.element.id, false);
  });
  return select;
}

export function readJson(id) {
  const node = id && document.getElementById(id);
  if (!node) return null;
  try {
    return JSON.parse(node.textContent);
  } catch (error) {
    console.warn("isoflow: unreadable diagram data", id, error);
    return null;
  }
}
