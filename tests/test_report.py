"""`creditctl report`: one self-contained HTML file a credit manager can read in a mail client."""

from __future__ import annotations

import base64
import re

from tests.cli_helpers import run_cli
from tests.conftest import ROOT


def test_report_of_a_demo_run(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    first = run_cli(capsys, monkeypatch, "demo", "--customers", "300", "--as-of", "2026-11-28")
    assert first.code == 0, first.err
    later = run_cli(capsys, monkeypatch, "demo", "--customers", "300", "--as-of", "2027-01-20")
    assert later.code == 0, later.err
    run_id = re.search(r"run id: ([0-9a-f-]{36})", later.out).group(1)
    config = re.search(r"demo config: (\S+)", later.err).group(1)

    out = tmp_path / "report.html"
    result = run_cli(capsys, monkeypatch, "report", "--run", run_id, "--out", str(out), "--config", config)
    assert result.code == 0, result.err
    html = out.read_text()
    assert run_id in html and "mode <b>apply</b>" in html
    summary = html[html.index('<table id="summary">'):]
    summary = summary[:summary.index("</table>")]
    assert summary.count("<tr>") > 3 and "Demo GmbH" in summary and "Demo Inc" in summary
    # both charts are real PNGs embedded in the page (no file or network needed)
    for chart in ("aging-chart", "top-exposure-chart"):
        src = re.search(rf'id="{chart}"[^>]*src="data:image/png;base64,([^"]+)"', html).group(1)
        assert base64.b64decode(src)[:8] == b"\x89PNG\r\n\x1a\n"
    # seven weeks later some decisions differ from the first run
    assert '<table id="changes">' in html
    assert 'id="decisions"' in html and 'id="quarantine-summary"' in html


def test_report_of_an_unknown_run_is_a_usage_error(tmp_path, capsys, monkeypatch) -> None:
    result = run_cli(capsys, monkeypatch, "report", "--run", "nope", "--out", str(tmp_path / "r.html"))
    assert result.code == 2 and "--run nope: no such run" in result.err
