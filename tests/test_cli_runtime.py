"""`isoflow db upgrade` and `isoflow publish` against a real SQLite file."""
from click.testing import CliRunner
from sqlalchemy import select

from cli.main import cli
from engine.adapters.db.models import ProcedureVersion
from engine.adapters.db.session import Database
from tests.support import FIXTURES, SIMPLE_MODEL


def test_db_upgrade_then_publish_then_publish_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    runner = CliRunner()
    result = runner.invoke(cli, ["db", "upgrade", "--database-url", url])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["publish", str(SIMPLE_MODEL), "--database-url", url, "--effective-from", "2199-01-01"])
    assert result.exit_code == 0, result.output
    assert "9.000001 version 1 published, effective from 2199-01-01 (" in result.output  # a future legal date: both
    result = runner.invoke(cli, ["publish", str(SIMPLE_MODEL), "--database-url", url])
    assert result.exit_code == 0 and "already stored" in result.output
    db = Database(url)
    with db.session_factory() as s:
        [version] = s.scalars(select(ProcedureVersion)).all()
        assert (version.status, str(version.effective_from)) == ("approved", "2199-01-01")
        assert set(version.forms) == {"test_receive", "test_appraise", "test_supplement", "test_sign", "test_return"}
    db.dispose()


def test_a_backdated_publish_reports_both_dates(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade", "--database-url", url]).exit_code == 0
    result = runner.invoke(cli, ["publish", str(SIMPLE_MODEL), "--database-url", url, "--effective-from", "2001-01-01"])
    assert result.exit_code == 0, result.output
    assert ", legally from 2001-01-01 (" in result.output and "effective from 2001-01-01" not in result.output


def test_publish_refuses_an_invalid_model_and_stores_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'x.db'}"
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade", "--database-url", url]).exit_code == 0
    bad = tmp_path / "bad.bpmn"
    bad.write_bytes(SIMPLE_MODEL.read_bytes().replace(b'name="duration" value="P1D"', b'name="duration" value="soon"'))
    (tmp_path / "forms").symlink_to(FIXTURES / "forms")
    result = runner.invoke(cli, ["publish", str(bad), "--database-url", url])
    assert result.exit_code == 2
    assert "model_invalid" in result.output and "appraise" in result.output
    assert "Traceback" not in result.output
    db = Database(url)
    with db.session_factory() as s:
        assert s.scalars(select(ProcedureVersion)).all() == []
    db.dispose()


def test_publish_reports_a_missing_file(tmp_path):
    result = CliRunner().invoke(cli, ["publish", str(tmp_path / "nope.bpmn"),
                                      "--database-url", f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_publish_on_a_database_without_schema_says_what_to_do(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = CliRunner().invoke(cli, ["publish", str(SIMPLE_MODEL), "--database-url", url])
    assert result.exit_code == 1
    assert "isoflow db upgrade" in result.output and "Traceback" not in result.output
