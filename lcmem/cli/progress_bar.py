"""A tqdm progress bar per stage, fed by the library's ``(done, total, text)`` callbacks."""

from __future__ import annotations

import sys

from tqdm import tqdm


class StageProgressBar:
    """Shows one bar per stage text, with items per second and ETA; silent when ``enabled`` is false.

    A stage whose first report is already complete (a summary such as "embedded real images (48 from the cache)")
    is shown as a count without a rate: it did no work to time.
    """

    def __init__(self, enabled: bool = True, unit: str = "img") -> None:
        self.enabled = enabled
        self.unit = unit
        self._bar: tqdm | None = None
        self._text = ""

    def __call__(self, done: int, total: int, text: str) -> None:
        if not self.enabled:
            return
        if text != self._text or self._bar is None:
            self.close()
            self._text = text
            finished = 0 < total <= done
            self._bar = tqdm(
                total=total or None,
                desc=text,
                unit=self.unit,
                file=sys.stderr,
                dynamic_ncols=True,
                bar_format="{desc}: {n_fmt}/{total_fmt}" if finished else None,
            )
        if total and self._bar.total != total:
            self._bar.total = total
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        """Finish the current bar."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
