"""How much a command says: the progress bar, --quiet / --verbose, and help with examples."""

import contextlib
import io

import pytest

from keras_styletransfer.cli import common
from keras_styletransfer.cli.main import build_parser, main


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture(autouse=True)
def _normal_verbosity():
    common.set_verbosity(common.NORMAL)
    yield
    common.set_verbosity(common.NORMAL)


def drawn(items, stream, **kwargs):
    bar = common.ProgressBar(len(items), stream=stream, **kwargs)
    for _ in items:
        bar.update(1)
    bar.close()
    return stream.getvalue()


def test_progress_yields_every_item_and_writes_one_summary_line_to_a_log(capsys):
    items = list(common.progress(range(7), description="stylize"))
    assert items == list(range(7))
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "\r" not in err
    assert err.startswith("stylize [") and "7/7" in err and "#" * common.ProgressBar.width in err


def test_progress_takes_generators_without_a_length(capsys):
    assert list(common.progress((i for i in range(3)), description="count")) == [0, 1, 2]
    assert "count 3 done" in capsys.readouterr().err


def test_progress_redraws_one_line_on_a_terminal():
    text = drawn(range(4), Terminal(), description="explain")
    assert text.startswith("\r") and text.endswith("\n") and text.count("\n") == 1
    assert "explain [" in text and "4/4" in text


def test_quiet_and_disabled_bars_draw_nothing(capsys):
    assert drawn(range(4), Terminal(), enabled=False) == ""
    common.set_verbosity(common.QUIET)
    assert drawn(range(4), Terminal()) == ""
    assert list(common.progress(range(3))) == [0, 1, 2]
    assert capsys.readouterr().err == ""


def test_verbose_writes_a_line_per_tenth_to_a_log():
    common.set_verbosity(common.VERBOSE)
    lines = drawn(range(20), io.StringIO(), description="evaluate").splitlines()
    assert len(lines) == 10 and lines[0].startswith("evaluate [") and "2/20" in lines[0]
    assert "20/20" in lines[-1] and "left" in lines[0]


def test_a_closed_stderr_never_stops_the_work():
    stream = io.StringIO()
    stream.close()
    assert list(common.progress(range(3))) == [0, 1, 2]
    assert drawn(range(3), Terminal()) is not None
    bar = common.ProgressBar(3, stream=stream)
    bar.update(3)
    bar.close()  # no exception


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(list(argv))
        except SystemExit as exit:
            status = exit.code
    return status, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("argv", [["presets", "--quiet"], ["-q", "presets"], ["presets", "-q"]])
def test_quiet_prints_nothing_before_or_after_the_command(argv):
    assert run_cli(*argv) == (0, "", "")
    assert common.verbosity() == common.QUIET


def test_verbose_and_normal_print_the_results():
    status, out, _ = run_cli("presets", "--verbose")
    assert status == 0 and "mnist_dcgan" in out and common.verbosity() == common.VERBOSE
    status, out, _ = run_cli("presets")
    assert status == 0 and "mnist_dcgan" in out and common.verbosity() == common.NORMAL


def test_quiet_still_reports_errors_in_one_line():
    status, out, err = run_cli("train", "--preset", "doc009", "--quiet")
    assert status == 2 and out == "" and "unknown preset 'doc009'" in err
    assert len(err.strip().splitlines()) == 1


def test_quiet_and_verbose_together_are_refused():
    status, _, err = run_cli("presets", "-q", "-v")
    assert status == 2 and "not allowed with" in err


def sub_parsers():
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return action.choices


def test_every_command_takes_quiet_and_verbose():
    for name, parser in sub_parsers().items():
        text = parser.format_help()
        assert "--quiet" in text and "--verbose" in text, name


# Commands whose modules C owns; the others' epilogs are checked by the test after this one.
C_COMMANDS = (
    "presets", "train", "sample", "train-style", "evaluate", "demo", "explain", "fuse",
    "fine-tune",
)  # fmt: skip


def _examples(parser):
    epilog = parser.epilog or ""
    assert epilog.startswith("examples:\n"), "add epilog=common.examples(...) to add_parser"
    lines = epilog.splitlines()[1:]
    assert 1 <= len(lines) <= 3
    return lines


@pytest.mark.parametrize("name", C_COMMANDS)
def test_help_ends_with_real_example_command_lines(name):
    parser = sub_parsers()[name]
    for line in _examples(parser):
        assert line.startswith(f"  keras-styletransfer {name}"), line
        # Each example parses: every option it uses exists, with a valid value.
        arguments = build_parser().parse_args(line.split()[1:])
        assert arguments.command == name
    assert "examples:\n  keras-styletransfer" in parser.format_help()  # line breaks kept


def test_every_command_has_help_examples():
    missing = [name for name, parser in sub_parsers().items() if not parser.epilog]
    assert not missing, f"sub-commands without an epilog of examples: {missing}"


def test_an_error_inside_a_bar_leaves_only_the_error_on_stderr():
    log, terminal = io.StringIO(), Terminal()
    for stream in (log, terminal):
        with pytest.raises(ValueError), common.ProgressBar(3, "work", stream=stream) as bar:
            bar.update(1)
            raise ValueError("bad input")
    assert log.getvalue() == ""
    assert terminal.getvalue().endswith("\r\x1b[K") and "\n" not in terminal.getvalue()


def test_an_error_in_a_progress_loop_draws_no_bar_line(capsys):
    with pytest.raises(ValueError):
        for index in common.progress(range(5), description="stylize"):
            if index == 2:
                raise ValueError("bad input")
    assert capsys.readouterr().err == ""
