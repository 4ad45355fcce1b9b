"""The keymap: the default review keys, the reviewer's own keys, clashes refused, kept in the settings."""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QDialogButtonBox

from app.keymap_dialog import KeymapDialog
from app.keys import DEFAULT_KEYMAP, Action, Keymap, KeymapError, parse_keys
from app.main_window import MainWindow
from app.settings import KEYMAP, AppSettings

K = Qt.Key
M = Qt.KeyboardModifier


def press(key: Qt.Key, modifiers: Qt.KeyboardModifier = M.NoModifier) -> QKeyEvent:
    return QKeyEvent(QEvent.Type.KeyPress, key, modifiers)


def test_the_documented_keys() -> None:
    keymap = Keymap()
    expected = {
        K.Key_A: Action.ACCEPT,
        K.Key_C: Action.ACCEPT_COPY,
        K.Key_P: Action.ACCEPT_PATIENT,
        K.Key_R: Action.REJECT,
        K.Key_S: Action.SKIP,
        K.Key_Space: Action.SKIP,
        K.Key_U: Action.UNDO,
        K.Key_Left: Action.PREVIOUS,
        K.Key_Right: Action.NEXT,
        K.Key_F: Action.FLICKER,
        K.Key_D: Action.DIFFERENCE,
        K.Key_1: Action.PRESET_1,
        K.Key_5: Action.PRESET_5,
        K.Key_F1: Action.HELP,
    }
    for key, action in expected.items():
        assert keymap.action_for(press(key)) is action
    assert keymap.action_for(press(K.Key_Question, M.ShiftModifier)) is Action.HELP
    assert keymap.action_for(press(K.Key_Z, M.ControlModifier)) is Action.UNDO
    assert keymap.action_for(press(K.Key_1, M.KeypadModifier)) is Action.PRESET_1
    assert keymap.action_for(press(K.Key_A, M.ControlModifier)) is None
    assert keymap.action_for(press(K.Key_A, M.ShiftModifier)) is None
    assert keymap.action_for(press(K.Key_Space, M.ShiftModifier)) is None
    assert keymap.action_for(press(K.Key_Shift, M.ShiftModifier)) is None
    assert keymap.action_for(press(K.Key_X)) is None


def test_every_default_key_is_bound_once_and_listed() -> None:
    keys = [key for binding in DEFAULT_KEYMAP for key in binding.keys]
    assert len(keys) == len(set(keys))
    assert {b.action for b in DEFAULT_KEYMAP} == set(Action)
    sheet = Keymap().cheat_sheet_html()
    assert all(html.escape(binding.description) in sheet for binding in DEFAULT_KEYMAP)
    assert Keymap().changes() == {}


def test_keys_are_read_in_canonical_form() -> None:
    assert parse_keys("s, space") == ("S", "Space")
    assert parse_keys("ctrl+y, Y") == ("Ctrl+Y", "Y")
    assert parse_keys("Shift+?") == ("?",)
    assert parse_keys("Ctrl+,") == ("Ctrl+,",)
    assert parse_keys("") == ()
    with pytest.raises(KeymapError, match="not a key"):
        parse_keys("Ctrl+Banana")


def test_a_remapped_keymap_moves_the_action_and_its_labels() -> None:
    keymap = Keymap({Action.ACCEPT: ("Y",), Action.REJECT: ("X", "Ctrl+X"), Action.HELP: ()})
    assert keymap.action_for(press(K.Key_Y)) is Action.ACCEPT
    assert keymap.action_for(press(K.Key_A)) is None
    assert keymap.action_for(press(K.Key_X, M.ControlModifier)) is Action.REJECT
    assert keymap.action_for(press(K.Key_F1)) is None
    assert keymap.label_of(Action.REJECT) == "X / Ctrl+X" and keymap.label_of(Action.HELP) == "—"
    assert keymap.label_of(Action.PREVIOUS) == "←"
    assert "<b>Y</b></td><td>Accept" in keymap.cheat_sheet_html()
    assert set(keymap.changes()) == {Action.ACCEPT, Action.REJECT, Action.HELP}


def test_a_key_bound_twice_or_taken_by_a_menu_is_refused() -> None:
    with pytest.raises(KeymapError, match="R is bound to both"):
        Keymap({Action.ACCEPT: ("R",)})
    with pytest.raises(KeymapError, match="menu shortcut of “Export pairs…”"):
        Keymap({Action.ACCEPT: ("Ctrl+E",)}, {"Ctrl+E": "Export pairs…"})
    assert Keymap({Action.ACCEPT: ("R",), Action.REJECT: ("A",)}).action_for(press(K.Key_R)) is Action.ACCEPT


def test_the_stored_text_round_trips_and_damage_falls_back_to_the_defaults() -> None:
    keymap = Keymap({Action.ACCEPT: ("Y",), Action.REJECT: ("X",)})
    again = Keymap.from_text(keymap.to_text())
    assert again.changes() == keymap.changes()
    assert Keymap.from_text('{"accept": ["Y"], "retired_action": ["X"]}').keys(Action.ACCEPT) == ("Y",)
    for damaged in ("{not json", '{"accept": ["R"]}', '{"accept": ["Ctrl+Banana"]}', '["A"]', '{"accept": 5}'):
        assert Keymap.from_text(damaged).changes() == {}, damaged


def test_the_dialog_refuses_a_clash_and_returns_the_new_keys(qtbot) -> None:
    dialog = KeymapDialog(Keymap(), {"Ctrl+E": "Export pairs…"})
    qtbot.addWidget(dialog)
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    dialog.set_keys(Action.ACCEPT, "R")
    assert not ok.isEnabled() and "R is bound to both" in dialog.problem.text()
    dialog.set_keys(Action.ACCEPT, "Ctrl+E")
    assert not ok.isEnabled() and "Export pairs" in dialog.problem.text()
    dialog.set_keys(Action.ACCEPT, "Y, Ctrl+Y")
    assert ok.isEnabled() and dialog.problem.text() == ""
    assert dialog.keymap().keys(Action.ACCEPT) == ("Y", "Ctrl+Y")
    dialog.restore_defaults()
    assert dialog.keymap().changes() == {}


def test_the_window_uses_the_stored_keys_in_menus_and_on_the_review_screen(
    qtbot, settings: AppSettings, scanned_original: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "review.lcmem"
    shutil.copyfile(scanned_original, path)
    settings.set(KEYMAP, Keymap({Action.ACCEPT: ("Y",)}).to_text())
    window = MainWindow(settings, inline_images=True)
    qtbot.addWidget(window)
    assert window.open_project(path)
    menu_texts = [a.text() for m in window._menus.values() for a in m.actions()]
    assert "Accept: memorized\tY" in menu_texts
    review = window.review
    assert review.buttons[Action.ACCEPT].text().endswith("Y")
    first = review.queue.current.key
    review.table.setFocus()
    qtbot.keyClick(review.table, K.Key_A)
    assert window.project.decision(first) is None
    qtbot.keyClick(review.table, K.Key_Y)
    assert window.project.decision(first).decision == "accept"

    def accept_with_new_keys(dialog: KeymapDialog) -> int:
        dialog.set_keys(Action.REJECT, "X")
        return KeymapDialog.DialogCode.Accepted

    monkeypatch.setattr(KeymapDialog, "exec", accept_with_new_keys)
    window.choose_keys()
    assert Keymap.from_text(settings.get(KEYMAP)).keys(Action.REJECT) == ("X",)
    assert Keymap.from_text(settings.get(KEYMAP)).keys(Action.ACCEPT) == ("Y",)
    assert "Reject: not a match\tX" in [a.text() for m in window._menus.values() for a in m.actions()]
    window.close_project()


def test_keys_pressed_in_the_dialog_are_checked_even_before_recording_ends(qtbot) -> None:
    dialog = KeymapDialog(Keymap(), {})
    qtbot.addWidget(dialog)
    dialog.show()
    editor = dialog.editors[Action.HELP]
    editor.clear()
    editor.setFocus()
    qtbot.keyClick(editor, K.Key_Question, M.ShiftModifier)
    qtbot.keyClick(editor, K.Key_Space)
    dialog.accept()
    assert dialog.isVisible() and "Space is bound to both" in dialog.problem.text()
    editor.clear()
    qtbot.keyClick(editor, K.Key_Question, M.ShiftModifier)
    qtbot.keyClick(editor, K.Key_H)
    dialog.accept()
    assert not dialog.isVisible() and dialog.result() == KeymapDialog.DialogCode.Accepted
    assert dialog.keymap().keys(Action.HELP) == ("?", "H")


def test_a_keys_file_carries_a_sites_keys_to_another_installation(qtbot, tmp_path: Path) -> None:
    first = KeymapDialog(Keymap(), {"Ctrl+E": "Export pairs…"})
    qtbot.addWidget(first)
    first.set_keys(Action.ACCEPT, "Y")
    first.set_keys(Action.HELP, "")
    assert first.save_to(tmp_path / "keys.json")
    assert json.loads((tmp_path / "keys.json").read_text())["keys"]["accept"] == ["Y"]

    second = KeymapDialog(Keymap(), {"Ctrl+E": "Export pairs…"})
    qtbot.addWidget(second)
    assert second.load_from(tmp_path / "keys.json")
    assert second.keymap().keys(Action.ACCEPT) == ("Y",) and second.keymap().keys(Action.HELP) == ()
    assert second.keymap().keys(Action.REJECT) == ("R",)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "not JSON"),
        ('{"keys": {"accept": ["Y"]}}', "not a keys file"),
        ('{"format": "lcmem-review-keys/1", "keys": {"launch": ["Y"]}}', "unknown actions: launch"),
        ('{"format": "lcmem-review-keys/1", "keys": {"accept": "Y"}}', "lists of keys"),
        ('{"format": "lcmem-review-keys/1", "keys": {"accept": ["R"]}}', "R is bound to both"),
        ('{"format": "lcmem-review-keys/1", "keys": {"accept": ["Ctrl+E"]}}', "menu shortcut"),
    ],
)
def test_a_bad_keys_file_is_refused_with_the_reason_and_changes_nothing(
    qtbot, tmp_path: Path, content: str, reason: str
) -> None:
    dialog = KeymapDialog(Keymap({Action.ACCEPT: ("Y",)}), {"Ctrl+E": "Export pairs…"})
    qtbot.addWidget(dialog)
    (tmp_path / "bad.json").write_text(content)
    assert not dialog.load_from(tmp_path / "bad.json")
    assert reason in dialog.problem.text()
    assert dialog.editors[Action.ACCEPT].keySequence().toString() == "Y"
    assert not dialog.load_from(tmp_path / "missing.json") and "missing.json" in dialog.problem.text()
