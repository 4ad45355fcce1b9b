"""The one keyboard map of the review screen: every key, the action it triggers, and how the cheat sheet says it.

Decisions and navigation follow ANCHORS §3.3 (A accept, R reject, S skip, U undo, ←/→); window presets are
on 1-5 as in OHIF. Menus show these keys but do not bind them, so a key never fires twice.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeyEvent

logger = logging.getLogger(__name__)


class Action(enum.Enum):
    """What a key does on the review screen."""

    ACCEPT = "accept"
    REJECT = "reject"
    UNSURE = "unsure"
    SKIP = "skip"
    UNDO = "undo"
    PREVIOUS = "previous"
    NEXT = "next"
    HELP = "help"
    FLICKER = "flicker"
    DIFFERENCE = "difference"
    LINK = "link"
    LOUPE = "loupe"
    FIT = "fit"
    FILE_WINDOW = "file_window"
    PRESET_1 = "preset_1"
    PRESET_2 = "preset_2"
    PRESET_3 = "preset_3"
    PRESET_4 = "preset_4"
    PRESET_5 = "preset_5"


PRESET_ACTIONS = (Action.PRESET_1, Action.PRESET_2, Action.PRESET_3, Action.PRESET_4, Action.PRESET_5)


@dataclass(frozen=True)
class Binding:
    """Keys (``Qt.Key`` values, no modifier, or Ctrl where noted) for one action, and its description."""

    action: Action
    keys: tuple[int, ...]
    label: str
    description: str
    ctrl_keys: tuple[int, ...] = ()


K = Qt.Key
KEYMAP = (
    Binding(Action.ACCEPT, (K.Key_A,), "A", "Accept: memorized (same image or same patient)"),
    Binding(Action.REJECT, (K.Key_R,), "R", "Reject: not a match"),
    Binding(Action.UNSURE, (K.Key_Q,), "Q", "Unsure: decide later (kept out of calibration)"),
    Binding(Action.SKIP, (K.Key_S, K.Key_Space), "S / Space", "Skip: leave undecided, go to the next pair"),
    Binding(Action.UNDO, (K.Key_U,), "U / Ctrl+Z", "Undo the last decision", ctrl_keys=(K.Key_Z,)),
    Binding(Action.PREVIOUS, (K.Key_Left,), "←", "Previous pair"),
    Binding(Action.NEXT, (K.Key_Right,), "→", "Next pair"),
    Binding(Action.FLICKER, (K.Key_F,), "F (hold)", "Flicker: show the real image in the synthetic pane"),
    Binding(Action.DIFFERENCE, (K.Key_D,), "D", "Difference overlay |synthetic − real| on/off"),
    Binding(Action.LINK, (K.Key_L,), "L", "Link or unlink zoom, pan and window/level"),
    Binding(Action.LOUPE, (K.Key_M,), "M", "Magnifier loupe on/off: 4× under the mouse, same place on both images"),
    Binding(Action.FIT, (K.Key_Z,), "Z", "Fit both images to their panes"),
    Binding(Action.FILE_WINDOW, (K.Key_0,), "0", "Each file's own window (VOI LUT or Window Center/Width)"),
    Binding(Action.PRESET_1, (K.Key_1,), "1", "Window preset: soft tissue (W 400 L 40)"),
    Binding(Action.PRESET_2, (K.Key_2,), "2", "Window preset: lung (W 1500 L −600)"),
    Binding(Action.PRESET_3, (K.Key_3,), "3", "Window preset: liver (W 150 L 90)"),
    Binding(Action.PRESET_4, (K.Key_4,), "4", "Window preset: bone (W 2500 L 480)"),
    Binding(Action.PRESET_5, (K.Key_5,), "5", "Window preset: brain (W 80 L 40)"),
    Binding(Action.HELP, (K.Key_Question, K.Key_F1), "? / F1", "Show or hide this list of keys"),
)

MOUSE_HELP = (
    ("Wheel", "Zoom both images (linked)"),
    ("Left drag", "Pan both images (linked)"),
    ("Right drag", "Window/level: right = wider, down = higher level (monochrome DICOM)"),
    ("Double click", "Fit the images to their panes"),
)

_PLAIN = {key: b.action for b in KEYMAP for key in b.keys}
_CTRL = {key: b.action for b in KEYMAP for key in b.ctrl_keys}


def action_for(event: QKeyEvent) -> Action | None:
    """The action bound to a key press, or ``None`` (keys with Alt/Meta, or unbound keys)."""
    modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    key = event.key()
    if modifiers == Qt.KeyboardModifier.ControlModifier:
        return _CTRL.get(key)
    if modifiers in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier):
        if modifiers == Qt.KeyboardModifier.ShiftModifier and key != K.Key_Question:
            return None
        return _PLAIN.get(key)
    return None


def label_of(action: Action) -> str:
    """The key label of an action, as menus and buttons show it."""
    return next(b.label for b in KEYMAP if b.action is action)


def cheat_sheet_html() -> str:
    """The keys and mouse gestures as an HTML table (the ``?`` overlay)."""
    rows = "".join(f"<tr><td><b>{b.label}</b></td><td>{b.description}</td></tr>" for b in KEYMAP)
    mouse = "".join(f"<tr><td><b>{g}</b></td><td>{d}</td></tr>" for g, d in MOUSE_HELP)
    return (
        "<h3>Keys</h3><table cellspacing='6'>" + rows + "</table>"
        "<h3>Mouse</h3><table cellspacing='6'>" + mouse + "</table>"
    )
