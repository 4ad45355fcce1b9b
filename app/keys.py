"""The keyboard map of the review screen: every action, its default keys, the reviewer's own keys, and the cheat sheet.

Decisions and navigation follow ANCHORS §3.3 (A accept, R reject, S skip, U undo, ←/→); window presets are
on 1-5 as in OHIF. Every action can be given other keys (Review ▸ Keyboard shortcuts…, stored in the app's
settings); a key may do one thing only. Keys are written as Qt's portable text ("A", "Space", "Ctrl+Z", "F1").
Menus show these keys but do not bind them, so a key never fires twice.
"""

from __future__ import annotations

import enum
import html
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from PySide6.QtCore import QKeyCombination, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence

logger = logging.getLogger(__name__)


class Action(enum.Enum):
    """What a key does on the review screen."""

    ACCEPT = "accept"
    ACCEPT_COPY = "accept_copy"
    ACCEPT_PATIENT = "accept_patient"
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
    MATCHES = "matches"
    NOTE = "note"
    FIT = "fit"
    FILE_WINDOW = "file_window"
    PRESET_1 = "preset_1"
    PRESET_2 = "preset_2"
    PRESET_3 = "preset_3"
    PRESET_4 = "preset_4"
    PRESET_5 = "preset_5"


PRESET_ACTIONS = (Action.PRESET_1, Action.PRESET_2, Action.PRESET_3, Action.PRESET_4, Action.PRESET_5)


class KeymapError(ValueError):
    """A key that Qt cannot read, or one key bound to two actions; the message says which."""


@dataclass(frozen=True)
class Binding:
    """The default keys of one action (portable text) and what the action does."""

    action: Action
    keys: tuple[str, ...]
    description: str


DEFAULT_KEYMAP = (
    Binding(Action.ACCEPT, ("A",), "Accept: memorized (same image or same patient)"),
    Binding(Action.ACCEPT_COPY, ("C",), "Accept as a copy: the synthetic image is this real image, maybe altered"),
    Binding(Action.ACCEPT_PATIENT, ("P",), "Accept as the same patient: another image of this patient or lesion"),
    Binding(Action.REJECT, ("R",), "Reject: not a match"),
    Binding(Action.UNSURE, ("Q",), "Unsure: decide later (kept out of calibration)"),
    Binding(Action.SKIP, ("S", "Space"), "Skip: leave undecided, go to the next pair"),
    Binding(Action.UNDO, ("U", "Ctrl+Z"), "Undo the last decision"),
    Binding(Action.PREVIOUS, ("Left",), "Previous pair"),
    Binding(Action.NEXT, ("Right",), "Next pair"),
    Binding(Action.FLICKER, ("F",), "Flicker (hold): show the real image in the synthetic pane"),
    Binding(Action.DIFFERENCE, ("D",), "Difference overlay |synthetic − real| on/off"),
    Binding(Action.LINK, ("L",), "Link or unlink zoom, pan and window/level"),
    Binding(Action.LOUPE, ("M",), "Magnifier loupe on/off: 4× under the mouse, same place on both images"),
    Binding(Action.MATCHES, ("G",), "Geometric matches on/off: the inlier keypoints verification matched, on both"),
    Binding(Action.FIT, ("Z",), "Fit both images to their panes"),
    Binding(Action.NOTE, ("N",), "Note: saved with the next decision, or (Enter) on a decided pair; Esc back"),
    Binding(
        Action.FILE_WINDOW,
        ("0",),
        "Each file's own window (VOI LUT or Window Center/Width); again: the file's other windows in turn",
    ),
    Binding(Action.PRESET_1, ("1",), "Window preset: soft tissue (W 400 L 40)"),
    Binding(Action.PRESET_2, ("2",), "Window preset: lung (W 1500 L −600)"),
    Binding(Action.PRESET_3, ("3",), "Window preset: liver (W 150 L 90)"),
    Binding(Action.PRESET_4, ("4",), "Window preset: bone (W 2500 L 480)"),
    Binding(Action.PRESET_5, ("5",), "Window preset: brain (W 80 L 40)"),
    Binding(Action.HELP, ("?", "F1"), "Show or hide this list of keys"),
)

MOUSE_HELP = (
    ("Wheel", "Zoom both images (linked)"),
    ("Left drag", "Pan both images (linked)"),
    ("Right drag", "Window/level: right = wider, down = higher level (monochrome DICOM)"),
    ("Double click", "Fit the images to their panes"),
)

_MODIFIERS = (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
              | Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.MetaModifier)  # fmt: skip
_MODIFIER_KEYS = {Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_Meta, Qt.Key.Key_AltGr,
                  Qt.Key.Key_unknown}  # fmt: skip


def _symbol(key: int) -> bool:
    """A printable key that is not a letter or digit: typing it may need Shift ("?" is Shift+/ on many layouts)."""
    if key >= 0x110000:
        return False
    text = chr(key)
    return text.isprintable() and not text.isalnum() and not text.isspace()


def _combination_text(key: int, modifiers: Qt.KeyboardModifier) -> str | None:
    """The portable text of a key press, Shift dropped from symbols; ``None`` for a lone modifier key."""
    if key in _MODIFIER_KEYS:
        return None
    modifiers = modifiers & _MODIFIERS
    if _symbol(key):
        modifiers = modifiers & ~Qt.KeyboardModifier.ShiftModifier
    return QKeySequence(QKeyCombination(modifiers, Qt.Key(key))).toString(QKeySequence.SequenceFormat.PortableText)


def parse_keys(text: str) -> tuple[str, ...]:
    """The keys in ``text`` (up to four, "S, Space", as Qt's key sequences hold them) in canonical portable text.

    Raises:
        KeymapError: a part Qt does not read as a key.
    """
    sequence = QKeySequence.fromString(text, QKeySequence.SequenceFormat.PortableText)
    if text.strip() and not sequence.count():
        raise KeymapError(f"“{text}” is not a key; write keys as A, Space, Ctrl+Z or F1, separated by commas")
    keys: list[str] = []
    for i in range(sequence.count()):
        canonical = _combination_text(sequence[i].key().value, sequence[i].keyboardModifiers())
        if not canonical:
            raise KeymapError(f"“{text}” holds something that is not a key; write keys as A, Space, Ctrl+Z or F1")
        if canonical not in keys:
            keys.append(canonical)
    return tuple(keys)


class Keymap:
    """The review screen's keys: the defaults with the reviewer's changes applied.

    Args:
        changes: action → keys (portable text) for the actions the reviewer rebound; an empty tuple unbinds.
        reserved: keys the menus already use (key → what it does there); binding one is refused.

    Raises:
        KeymapError: an unreadable key, a key bound to two actions, or a reserved key.
    """

    def __init__(self, changes: Mapping[Action, Sequence[str]] | None = None,
                 reserved: Mapping[str, str] | None = None) -> None:  # fmt: skip
        self._keys = {b.action: b.keys for b in DEFAULT_KEYMAP}
        for action, keys in (changes or {}).items():
            parsed = (canonical for key in keys for canonical in parse_keys(key))
            self._keys[action] = tuple(dict.fromkeys(parsed))
        self._by_key: dict[str, Action] = {}
        for action, keys in self._keys.items():
            for key in keys:
                other = self._by_key.setdefault(key, action)
                if other is not action:
                    raise KeymapError(f"{key} is bound to both “{_describe(other)}” and “{_describe(action)}”; "
                                      "give one of them another key")  # fmt: skip
                if reserved and key in reserved:
                    raise KeymapError(f"{key} is the menu shortcut of “{reserved[key]}”; choose another key "
                                      f"for “{_describe(action)}”")  # fmt: skip

    def keys(self, action: Action) -> tuple[str, ...]:
        """The keys of ``action`` (portable text; empty when unbound)."""
        return self._keys[action]

    def changes(self) -> dict[Action, tuple[str, ...]]:
        """The actions whose keys differ from the defaults, and their keys."""
        return {b.action: self._keys[b.action] for b in DEFAULT_KEYMAP if self._keys[b.action] != b.keys}

    def action_for(self, event: QKeyEvent) -> Action | None:
        """The action bound to a key press or release, or ``None``."""
        text = _combination_text(event.key(), event.modifiers())
        return self._by_key.get(text) if text else None

    def label_of(self, action: Action) -> str:
        """The keys of an action as menus, buttons and the cheat sheet show them ("S / Space")."""
        native = (QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) for k in self._keys[action])
        return " / ".join(_ARROWS.get(k, k) for k in native) or "—"

    def cheat_sheet_html(self) -> str:
        """The keys and mouse gestures as an HTML table (the ``?`` overlay)."""
        rows = "".join(
            f"<tr><td><b>{html.escape(self.label_of(b.action))}</b></td><td>{html.escape(b.description)}</td></tr>"
            for b in DEFAULT_KEYMAP
        )
        mouse = "".join(f"<tr><td><b>{g}</b></td><td>{d}</td></tr>" for g, d in MOUSE_HELP)
        return (
            "<h3>Keys</h3><table cellspacing='6'>" + rows + "</table>"
            "<h3>Mouse</h3><table cellspacing='6'>" + mouse + "</table>"
        )

    def to_text(self) -> str:
        """The reviewer's changes as JSON (action name → keys), for the settings file."""
        return json.dumps({a.value: list(k) for a, k in self.changes().items()}, sort_keys=True)

    @classmethod
    def from_text(cls, text: str, reserved: Mapping[str, str] | None = None) -> Keymap:
        """The keymap stored by :meth:`to_text`; a damaged or clashing entry is logged and the defaults are used."""
        if not text:
            return cls(reserved=reserved)
        try:
            return cls._from_mapping(json.loads(text), reserved)
        except (ValueError, TypeError, AttributeError) as error:
            logger.warning("the stored keyboard shortcuts are unusable (%s); using the default keys", error)
            return cls(reserved=reserved)

    def to_file_text(self) -> str:
        """Every action's keys as a keys file (JSON) that another installation can load."""
        keys = {a.value: list(self.keys(a)) for a in Action}
        return json.dumps({"format": KEYS_FILE_FORMAT, "keys": keys}, indent=2) + "\n"

    @classmethod
    def from_file_text(cls, text: str, reserved: Mapping[str, str] | None = None) -> Keymap:
        """The keymap of a keys file written by :meth:`to_file_text` (actions it does not name keep their defaults).

        Raises:
            KeymapError: not a keys file, an unknown action, an unreadable key or a clash (the message says which).
        """
        try:
            document = json.loads(text)
        except ValueError as error:
            raise KeymapError(f"this is not a keys file (not JSON: {error})") from error
        if not isinstance(document, dict) or document.get("format") != KEYS_FILE_FORMAT:
            raise KeymapError(f'this is not a keys file (it needs "format": "{KEYS_FILE_FORMAT}")')
        keys = document.get("keys")
        if not isinstance(keys, dict) or not all(isinstance(v, list) for v in keys.values()):
            raise KeymapError('the keys file\'s "keys" must map action names to lists of keys')
        unknown = sorted(set(keys) - _ACTION_NAMES)
        if unknown:
            raise KeymapError(f"the keys file names unknown actions: {', '.join(unknown)}")
        return cls._from_mapping(keys, reserved)

    @classmethod
    def _from_mapping(cls, stored: Mapping[str, Sequence[str]], reserved: Mapping[str, str] | None) -> Keymap:
        changes = {Action(name): tuple(map(str, keys)) for name, keys in stored.items() if name in _ACTION_NAMES}
        return cls(changes, reserved)


_ACTION_NAMES = {a.value for a in Action}
KEYS_FILE_FORMAT = "lcmem-review-keys/1"
_ARROWS = {"Left": "←", "Right": "→", "Up": "↑", "Down": "↓"}


def _describe(action: Action) -> str:
    return next(b.description for b in DEFAULT_KEYMAP if b.action is action).split(":")[0]
