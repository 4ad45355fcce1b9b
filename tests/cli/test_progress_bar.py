"""The CLI's progress bars: a rate where work was timed, none for a stage that arrived done (e.g. cached)."""

from __future__ import annotations

import pytest

from lcmem.cli.progress_bar import StageProgressBar


def test_a_stage_reported_done_at_once_shows_a_count_without_a_rate(capsys: pytest.CaptureFixture[str]) -> None:
    bar = StageProgressBar()
    bar(48, 48, "embedded real images (48 from the cache)")
    bar.close()
    err = capsys.readouterr().err
    assert "embedded real images (48 from the cache): 48/48" in err
    assert "img/s" not in err


def test_a_stage_that_works_shows_its_rate(capsys: pytest.CaptureFixture[str]) -> None:
    bar = StageProgressBar()
    for done in range(0, 49, 16):
        bar(done, 48, "embedding real images")
    bar.close()
    assert "img/s" in capsys.readouterr().err
