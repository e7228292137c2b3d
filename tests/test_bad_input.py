"""Hypothesis over user input: every value works or gets a sentence, never a traceback.

Names reach libvirt as API arguments, never through a shell, so `$(...)`, quotes and
newlines are just characters; these tests check that nothing chokes on them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tvirt import config
from tvirt.cli import main

NASTY = st.sampled_from(
    ["$(touch /tmp/tvirt-pwned)", "`id`", "a;rm -rf /", "'\"", "x\ny", "名前", "-rf", "..", ""]
)
NAMES = st.one_of(NASTY, st.text(max_size=40))


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture],
          deadline=None)
@given(name=NAMES)
def test_vm_names_never_traceback_or_inject(
    name: str, node_xml: Callable[[int], str], capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        code = main(["-c", node_xml(2), "info", "--", name])
    except SystemExit as exit_:  # argparse's own refusals, e.g. an empty name
        code = int(str(exit_.code))
    out, err = capsys.readouterr()
    assert code in (0, 1, 2)
    assert "Traceback" not in out + err
    if code:
        assert err.startswith("tvirt: ") and err.rstrip().endswith((".", "'."))
    assert not Path("/tmp/tvirt-pwned").exists()


@settings(max_examples=100, deadline=None)
@given(text=st.one_of(st.text(max_size=200), st.binary(max_size=200).map(
    lambda b: b.decode("latin-1"))))
def test_config_files_load_or_say_why(text: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("cfg") / "config.toml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    before = path.read_bytes()
    try:
        loaded = config.load(path)
    except config.ConfigError as exc:
        assert str(exc).endswith(".") and str(path) in str(exc)
    else:
        assert isinstance(loaded.uris, list)
    assert path.read_bytes() == before  # never rewritten


@pytest.mark.parametrize(
    "text",
    [
        "[connections]\nuris = [1, 2]\n",
        "[connections]\nreadonly = 'yes'\n",
        "[ui]\ntheme = 3\n",
        "ui = 5\n",
        "connections = 'x'\n",
        "\x00\x01",
    ],
)
def test_wrong_shapes_are_refused_with_a_sentence(text: str, tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(config.ConfigError) as caught:
        config.load(path)
    assert str(caught.value).endswith(".")
