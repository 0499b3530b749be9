from click.testing import CliRunner

from cli.main import cli


def test_help_lists_the_program():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    assert "isoflow" in result.output


def test_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(cli, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command" in result.output
