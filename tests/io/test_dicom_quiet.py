"""pydicom's reading validation is off while lcmem reads, and restored afterwards."""

from __future__ import annotations

import threading

from pydicom import config

from lcmem.io.dicom_quiet import values_unechoed


def test_validation_is_off_inside_and_restored_after_the_outermost_reader() -> None:
    before = config.settings.reading_validation_mode
    assert before != config.IGNORE
    with values_unechoed():
        assert config.settings.reading_validation_mode == config.IGNORE
        with values_unechoed():
            assert config.settings.reading_validation_mode == config.IGNORE
        assert config.settings.reading_validation_mode == config.IGNORE  # the outer reader is still reading
    assert config.settings.reading_validation_mode == before


def test_overlapping_readers_in_threads_leave_the_mode_as_it_was() -> None:
    before = config.settings.reading_validation_mode
    inside = threading.Barrier(4)
    seen: list[int] = []

    def read() -> None:
        with values_unechoed():
            inside.wait(timeout=30)
            seen.append(config.settings.reading_validation_mode)
            inside.wait(timeout=30)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [config.IGNORE] * 4
    assert config.settings.reading_validation_mode == before
