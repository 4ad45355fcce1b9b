"""One keymap: the review keys of the issue, found for plain, shifted and Ctrl presses."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent

from app.keys import KEYMAP, Action, action_for, cheat_sheet_html


def press(key: Qt.Key, modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> QKeyEvent:
    return QKeyEvent(QEvent.Type.KeyPress, key, modifiers)


def test_the_documented_keys() -> None:
    K = Qt.Key
    expected = {
        K.Key_A: Action.ACCEPT,
        K.Key_R: Action.REJECT,
        K.Key_S: Action.SKIP,
        K.Key_U: Action.UNDO,
        K.Key_Left: Action.PREVIOUS,
        K.Key_Right: Action.NEXT,
        K.Key_F: Action.FLICKER,
        K.Key_D: Action.DIFFERENCE,
        K.Key_1: Action.PRESET_1,
        K.Key_5: Action.PRESET_5,
    }
    for key, action in expected.items():
        assert action_for(press(key)) is action
    assert action_for(press(K.Key_Question, Qt.KeyboardModifier.ShiftModifier)) is Action.HELP
    assert action_for(press(K.Key_Z, Qt.KeyboardModifier.ControlModifier)) is Action.UNDO
    assert action_for(press(K.Key_A, Qt.KeyboardModifier.ControlModifier)) is None
    assert action_for(press(K.Key_A, Qt.KeyboardModifier.ShiftModifier)) is None
    assert action_for(press(K.Key_X)) is None


def test_every_key_is_bound_once_and_listed() -> None:
    keys = [key for binding in KEYMAP for key in binding.keys]
    assert len(keys) == len(set(keys))
    assert {b.action for b in KEYMAP} == set(Action)
    sheet = cheat_sheet_html()
    assert all(binding.description in sheet for binding in KEYMAP)
