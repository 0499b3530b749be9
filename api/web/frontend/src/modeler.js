// The modeler for ISO consultants: bpmn-js's Modeler with an ISO properties panel that
// writes exactly the vocabulary isoflow reads (docs/authoring.md) as
// `spiffworkflow:properties`, choosing roles, fields, forms and status codes from the
// registries the page passes in (never free text where a registry exists). Saving puts the
// XML into the form's textarea and posts it: the server validates and stores a draft, or
// answers with the problems, which are drawn on their elements. Without JavaScript the
// page is that textarea.
import Modeler from "bpmn-js/lib/Modeler";

import { applyMarks, linkRows, readJson } from "./marks.js";
import spiffworkflow from "./spiffworkflow.json";

const TASK_TYPES = new Set(["bpmn:UserTask", "bpmn:ManualTask", "bpmn:Task"]);
const GATEWAY_TYPES = new Set(["bpmn:ExclusiveGateway", "bpmn:InclusiveGateway"]);

function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

// --- reading and writing isoflow's properties ----------------------------------------

function propertiesOf(bo) {
  const ext = bo && bo.extensionElements;
  return ext ? (ext.values || []).find((v) => v.$type === "spiffworkflow:Properties") || null : null;
}

function getProperty(bo, name) {
  const container = propertiesOf(bo);
  const found = container && (container.values || []).find((p) => p.name === name);
  return found ? found.value || "" : "";
}

function setProperty(modeler, element, bo, name, value) {
  const modeling = modeler.get("modeling");
  const moddle = modeler.get("moddle");
  value = (value || "").trim();
  let ext = bo.extensionElements;
  if (!ext) {
    if (!value) return;
    ext = moddle.create("bpmn:ExtensionElements", { values: [] });
    ext.$parent = bo;
    modeling.updateModdleProperties(element, bo, { extensionElements: ext });
  }
  let container = propertiesOf(bo);
  if (!container) {
    if (!value) return;
    container = moddle.create("spiffworkflow:Properties", { values: [] });
    container.$parent = ext;
    modeling.updateModdleProperties(element, ext, { values: [...(ext.values || []), container] });
  }
  const values = container.values || [];
  const existing = values.find((p) => p.name === name);
  if (!value) {
    if (existing) modeling.updateModdleProperties(element, container, { values: values.filter((p) => p !== existing) });
  } else if (existing) {
    modeling.updateModdleProperties(element, existing, { value });
  } else {
    const property = moddle.create("spiffworkflow:Property", { name, value });
    property.$parent = container;
    modeling.updateModdleProperties(element, container, { values: [...values, property] });
  }
}

// --- the panel -------------------------------------------------------------------------

class IsoPanel {
  constructor(modeler, node, data) {
    this.modeler = modeler;
    this.node = node;
    this.data = data;
    this.t = data.labels || {};
    this.current = null;
    const eventBus = modeler.get("eventBus");
    eventBus.on("selection.changed", (event) => this.show(event.newSelection[0] || null));
    eventBus.on("elements.changed", (event) => {
      const shown = this.current;
      if (shown && event.elements.some((e) => e.id === shown.id) && !this.node.contains(document.activeElement)) {
        this.show(shown);
      }
    });
  }

  processTarget() {
    const root = this.modeler.get("canvas").getRootElement();
    const registry = this.modeler.get("elementRegistry");
    if (root.businessObject.$type === "bpmn:Process") return { element: root, bo: root.businessObject };
    const pool = registry.find((e) => e.type === "bpmn:Participant" && e.businessObject.processRef);
    return pool ? { element: pool, bo: pool.businessObject.processRef } : { element: root, bo: root.businessObject };
  }

  show(element) {
    this.current = element;
    const t = this.t;
    const body = [];
    let title;
    if (!element || element.type === "bpmn:Participant" || element.type === "bpmn:Process"
        || element.type === "bpmn:Collaboration") {
      const { element: target, bo } = this.processTarget();
      this.current = target;
      title = t.process;
      body.push(this.attrInput(target, bo, "name", t.process_name, { required: true, placeholder: "Đăng ký khai sinh" }));
      body.push(this.propInput(target, bo, "procedure_code", t.procedure_code, { required: true, placeholder: "1.001193", pattern: "\\d+\\.\\d{6}" }));
      body.push(this.propSelect(target, bo, "field", t.field, this.data.fields, { required: true }));
      body.push(this.propInput(target, bo, "time_limit", t.time_limit, { required: true, placeholder: "P3D · PT4H · same-day", help: t.time_limit_help }));
      body.push(this.propSelect(target, bo, "time_basis", t.time_basis, this.data.time_bases, { empty: t.default_working }));
      for (const [category, label] of this.data.categories || []) {
        body.push(this.propInput(target, bo, "time_limit." + category, `${t.time_limit} · ${label}`, { placeholder: "P30D" }));
      }
      body.push(this.propInput(target, bo, "legal_basis", t.legal_basis, { multiline: true, help: t.legal_basis_help }));
      body.push(this.propInput(target, bo, "fee", t.fee, { multiline: true }));
      body.push(this.propInput(target, bo, "name_en", t.name_en, {}));
      body.push(this.propInput(target, bo, "iso_document_code", t.iso_document_code, { placeholder: "QT-HT-01" }));
      body.push(this.propInput(target, bo, "revision", t.revision, { placeholder: "01" }));
    } else if (element.type === "bpmn:Lane") {
      title = t.lane;
      body.push(this.attrSelect(element, element.businessObject, "name", t.lane_role, this.data.roles, { required: true }));
    } else if (TASK_TYPES.has(element.type)) {
      const bo = element.businessObject;
      title = t.step;
      body.push(this.attrInput(element, bo, "name", t.step_name, { required: true, multiline: true }));
      body.push(this.propInput(element, bo, "duration", t.duration, { required: true, placeholder: "PT45M · P0.5D · P2D", help: t.duration_help }));
      body.push(this.propSelect(element, bo, "role", t.role, this.data.roles, { empty: t.role_from_lane }));
      body.push(this.propSelect(element, bo, "clock", t.clock, this.data.clocks, { empty: t.clock_running }));
      body.push(this.propSelect(element, bo, "status", t.status, this.data.statuses, { empty: t.status_default }));
      body.push(this.propSelect(element, bo, "form", t.form, this.data.forms, { empty: t.no_form }));
      body.push(this.propInput(element, bo, "record", t.record, { multiline: true }));
      body.push(this.propInput(element, bo, "name_en", t.name_en, {}));
    } else if (element.type === "bpmn:SequenceFlow") {
      const bo = element.businessObject;
      title = t.flow;
      body.push(this.attrInput(element, bo, "name", t.name, {}));
      if (bo.sourceRef && GATEWAY_TYPES.has(bo.sourceRef.$type)) {
        body.push(this.conditionInput(element, bo));
      }
    } else if (element.type === "label") {
      this.show(element.labelTarget);
      return;
    } else {
      title = t.element;
      body.push(this.attrInput(element, element.businessObject, "name", t.name, { multiline: true }));
    }
    const heading = el("h3", { text: title });
    const id = el("p", { class: "muted mono iso-panel-id", text: (this.current && this.current.id) || "" });
    this.node.replaceChildren(heading, id, ...body);
    this.node.setAttribute("data-element", (this.current && this.current.id) || "");
  }

  field(label, control, options = {}) {
    const id = "iso-" + Math.random().toString(36).slice(2, 9);
    control.id = id;
    const wrapper = el("div", { class: "field" }, [
      el("label", { for: id }, [label, options.required ? el("span", { class: "req", text: " *" }) : null]),
      control,
      options.help ? el("p", { class: "help", text: options.help }) : null,
    ]);
    return wrapper;
  }

  textControl(value, options, onChange) {
    const control = options.multiline
      ? el("textarea", { rows: 2, placeholder: options.placeholder })
      : el("input", { type: "text", placeholder: options.placeholder, pattern: options.pattern });
    control.value = value || "";
    control.addEventListener("change", () => onChange(control.value));
    return control;
  }

  selectControl(value, choices, options, onChange) {
    const control = el("select");
    control.append(el("option", { value: "", text: options.empty || "—" }));
    let known = false;
    for (const [code, label] of choices || []) {
      const option = el("option", { value: code, text: label === code ? code : `${label} (${code})` });
      if (code === value) { option.selected = true; known = true; }
      control.append(option);
    }
    if (value && !known) {  // a value the registry does not know: kept visible, so the validator's report makes sense
      control.append(el("option", { value, text: `${value} ?`, selected: true }));
    }
    control.addEventListener("change", () => onChange(control.value));
    return control;
  }

  attrInput(element, bo, name, label, options) {
    return this.field(label, this.textControl(bo[name], options, (value) => this.setAttr(element, bo, name, value)), options);
  }

  attrSelect(element, bo, name, label, choices, options) {
    return this.field(label, this.selectControl(bo[name], choices, options, (value) => this.setAttr(element, bo, name, value)), options);
  }

  propInput(element, bo, name, label, options) {
    const control = this.textControl(getProperty(bo, name), options,
      (value) => setProperty(this.modeler, element, bo, name, value));
    control.setAttribute("data-property", name);
    return this.field(label, control, options);
  }

  propSelect(element, bo, name, label, choices, options) {
    const control = this.selectControl(getProperty(bo, name), choices, options,
      (value) => setProperty(this.modeler, element, bo, name, value));
    control.setAttribute("data-property", name);
    return this.field(label, control, options);
  }

  setAttr(element, bo, name, value) {
    const modeling = this.modeler.get("modeling");
    if (element.businessObject === bo) modeling.updateProperties(element, { [name]: value || undefined });
    else modeling.updateModdleProperties(element, bo, { [name]: value || undefined });
  }

  conditionInput(element, bo) {
    const expression = bo.conditionExpression;
    const control = this.textControl(expression ? expression.body : "", { placeholder: "outcome == 'approve'" }, (value) => {
      const modeling = this.modeler.get("modeling");
      const condition = value.trim()
        ? this.modeler.get("moddle").create("bpmn:FormalExpression", { body: value.trim() })
        : undefined;
      modeling.updateProperties(element, { conditionExpression: condition });
    });
    control.setAttribute("data-property", "condition");
    return this.field(this.t.condition, control, { help: this.t.condition_help });
  }
}

// --- the page ----------------------------------------------------------------------------

async function start(box) {
  const data = readJson(box.getAttribute("data-modeler")) || {};
  const form = box.closest("form");
  const source = form.querySelector("textarea[name=model_xml]");
  const canvas = box.querySelector(".modeler-canvas");
  const panel = box.querySelector(".iso-panel");
  const modeler = new Modeler({ container: canvas, moddleExtensions: { spiffworkflow } });
  try {
    await modeler.importXML(source.value);
  } catch (error) {
    box.setAttribute("data-state", "error");
    const message = el("p", { class: "diagram-error", text: `${box.getAttribute("data-error-text") || ""} ${error.message}` });
    box.before(message);
    return;  // the textarea stays: the XML can still be corrected by hand
  }
  form.classList.add("with-modeler");
  modeler.get("canvas").zoom("fit-viewport", "auto");
  const isoPanel = new IsoPanel(modeler, panel, data);
  isoPanel.show(null);
  applyMarks(modeler, data.marks);
  linkRows(modeler, box, (element) => {
    if (element) modeler.get("selection").select(element);
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    // a field being edited commits on change: blur it first
    if (document.activeElement && panel.contains(document.activeElement)) document.activeElement.blur();
    const { xml } = await modeler.saveXML({ format: true });
    source.value = xml;
    HTMLFormElement.prototype.submit.call(form);  // no second submit event
  });
  box.isoModeler = modeler;
  box.setAttribute("data-state", "ready");
}

for (const box of document.querySelectorAll("[data-modeler]")) {
  start(box);
}
