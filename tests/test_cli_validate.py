import json
from pathlib import Path

from click.testing import CliRunner

from cli.main import cli
from tests.procedure_fixtures.builder import small_valid_model

REPO = Path(__file__).resolve().parent.parent
MODELS = sorted(str(p) for p in (REPO / "bpmn").glob("*.bpmn"))


def run(*args):
    return CliRunner().invoke(cli, ["validate", *args])


def test_every_shipped_model_is_valid():
    result = run(*MODELS)
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith(f"{len(MODELS)} file(s) checked, 0 invalid")


def test_directory_argument():
    result = run(str(REPO / "bpmn"))
    assert result.exit_code == 0
    assert "ok: " in result.output


def test_invalid_file_exits_2_with_problems_on_stderr(tmp_path):
    bad = tmp_path / "bad.bpmn"
    bad.write_text(small_valid_model().replace('value="same-day"', 'value="tomorrow"'), encoding="utf-8")
    result = run(MODELS[0], str(bad))
    assert result.exit_code == 2
    assert "process_limit_invalid" in result.stderr
    assert "hint:" in result.stderr
    assert "1 invalid" in result.stdout


def test_json_report(tmp_path):
    bad = tmp_path / "bad.bpmn"
    bad.write_text("<not xml", encoding="utf-8")
    result = run("--json", MODELS[0], str(bad))
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert report["ok"] is False
    by_file = {f["file"]: f for f in report["files"]}
    assert by_file[MODELS[0]]["ok"] is True
    problem = by_file[str(bad)]["problems"][0]
    assert problem["code"] == "xml_not_well_formed"
    assert {"message_vi", "message_en", "hint", "line"} <= set(problem)


def test_missing_file_is_reported_not_a_traceback(tmp_path):
    result = run(str(tmp_path / "absent.bpmn"))
    assert result.exit_code == 2
    assert "file_unreadable" in result.stderr
    assert "Traceback" not in result.output


def test_trusted_scripts_flag(tmp_path):
    from tests.procedure_fixtures.builder import end, flow, lanes, model, start, task

    body = (start() + task("s", "Tính", tag="scriptTask", inner="<bpmn:script>x = 1</bpmn:script>") + end()
            + flow("f0", "start", "s") + flow("f1", "s", "end"))
    path = tmp_path / "script.bpmn"
    path.write_text(model(body, lane_xml=lanes({"chair": ["start", "s", "end"]})), encoding="utf-8")
    assert run(str(path)).exit_code == 2
    assert run("--trusted-scripts", str(path)).exit_code == 0
