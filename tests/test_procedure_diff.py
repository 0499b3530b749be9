"""The difference between two versions of a model, element by element and property by
property (what the chair sees before approving)."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from engine.procedure import compile_model
from engine.procedure.diff import diff_models

REPO = Path(__file__).resolve().parent.parent
BIRTH = REPO / "bpmn" / "1.001193-birth-registration.bpmn"


def model(source: bytes):
    return compile_model(source, BIRTH.name, forms_dir=BIRTH.parent / "forms")


def test_identical_models_and_a_moved_shape_are_no_change():
    source = BIRTH.read_bytes()
    assert diff_models(model(source), model(source)).empty
    moved = source.replace(b'<dc:Bounds x="300" y="100" width="100" height="80" />',
                           b'<dc:Bounds x="310" y="110" width="100" height="80" />')
    assert moved != source and diff_models(model(source), model(moved)).empty


def test_changed_duration_role_form_limit_and_legal_basis():
    source = BIRTH.read_bytes()
    changed = (source
               .replace(b'<spiffworkflow:property name="duration" value="PT45M" />',
                        b'<spiffworkflow:property name="duration" value="PT1H" />')
               .replace(b'<spiffworkflow:property name="form" value="birth_signature" />',
                        b'<spiffworkflow:property name="form" value="birth_signature" />'
                        b'<spiffworkflow:property name="role" value="vice_chair" />')
               .replace(b'<spiffworkflow:property name="form" value="birth_return" />', b""))
    changed = re.sub(rb'name="legal_basis" value="[^"]*"',
                     'name="legal_basis" value="Luật Hộ tịch 2014; Nghị định 123/2015/NĐ-CP"'.encode(), changed)
    diff = diff_models(model(source), model(changed))
    assert not diff.added and not diff.removed
    steps = {(c.element_id, c.prop): (c.before, c.after) for c in diff.step_changes}
    assert steps == {
        ("appraise_dossier", "duration"): (timedelta(minutes=45), timedelta(hours=1)),
        ("sign_certificate", "role"): ("chair", "vice_chair"),
        ("return_result", "form"): ("birth_return", None),
    }
    assert [(c.prop, c.after) for c in diff.process_changes] == [
        ("legal_basis", "Luật Hộ tịch 2014; Nghị định 123/2015/NĐ-CP")]
    assert {e.element_id for e in diff.changed} == {"appraise_dossier", "sign_certificate", "return_result"}


def without(text: str, *ids: str) -> str:
    """The model text without the elements (semantic and diagram) of these ids."""
    for element_id in ids:
        text = re.sub(r'<bpmn:(\w+) id="%s"[^>]*?(/>|>.*?</bpmn:\1>)\s*' % element_id, "", text, flags=re.S)
        text = re.sub(r'<bpmndi:(\w+) id="%s_di".*?</bpmndi:\1>\s*' % element_id, "", text, flags=re.S)
        text = text.replace(f"<bpmn:flowNodeRef>{element_id}</bpmn:flowNodeRef>", "")
    return text


def test_added_removed_and_rerouted_elements():
    source = BIRTH.read_bytes()
    # the signature is skipped: the appraisal approves straight to the return
    text = (source.decode()
            .replace('sourceRef="gw_appraisal" targetRef="sign_certificate"', 'sourceRef="gw_appraisal" targetRef="return_result"')
            .replace("<bpmn:incoming>flow_signed</bpmn:incoming>", "<bpmn:incoming>flow_appraisal_approve</bpmn:incoming>")
            .replace("<bpmn:incoming>flow_not_signed</bpmn:incoming>", ""))
    rerouted = without(text, "sign_certificate", "gw_signature", "flow_sign_gw", "flow_signed", "flow_not_signed").encode()
    diff = diff_models(model(source), model(rerouted))
    removed = {e.element_id for e in diff.removed}
    assert removed == {"sign_certificate", "gw_signature", "flow_sign_gw", "flow_signed", "flow_not_signed"}
    assert not diff.added
    changed = {e.element_id for e in diff.changed}
    assert changed == {"flow_appraisal_approve", "lane_chair"}  # its target; the lane's steps
    assert not diff.step_changes and not diff.process_changes
    back = diff_models(model(rerouted), model(source))
    assert {e.element_id for e in back.added} == removed and not back.removed
