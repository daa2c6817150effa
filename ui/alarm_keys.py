"""A and P (acknowledge, audio pause) from the dashboard's own dialogs too.

The dashboard binds them as window shortcuts, which fire only while the dashboard window is
the active one: with the sign-in (non-modal, but it takes the focus), a clinician's sign-in
for one step (modal) or any other dialog of the dashboard in front, the keys would type into
it or do nothing, and an alarm would wait for a PIN. This filter hands them to the dashboard
from any dialog it opened, whichever widget has the focus, except a text field where letters
are typed (a name, a note: there A is a letter). The PIN field is digits only, so A and P are
the alarm keys there too.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

from ui.window_filter import WindowFilter


def types_letters(widget: QWidget) -> bool:
    """Whether a key A typed into `widget` is a letter of what is being written."""
    if isinstance(widget, QLineEdit):
        return (widget.echoMode() == QLineEdit.EchoMode.Normal and not widget.isReadOnly())
    if isinstance(widget, QTextEdit | QPlainTextEdit):
        return not widget.isReadOnly()
    return False


class AlarmKeys(WindowFilter):
    """A calls `acknowledge`, P `pause_audio`, when the key is pressed in a dialog `window`
    opened. Installed on the application only while such a dialog is the active window (in
    the dashboard itself its own shortcuts serve, and the filter would cost every event)."""

    def __init__(self, window: QWidget, acknowledge: Callable[[], None],
                 pause_audio: Callable[[], None]) -> None:
        super().__init__(window, attach=False)
        self.keys = {int(Qt.Key.Key_A): acknowledge, int(Qt.Key.Key_P): pause_audio}
        app = QApplication.instance()
        if isinstance(app, QApplication):
            # Disconnected by Qt when this filter, a child of `window`, is deleted.
            app.focusWindowChanged.connect(self._follow_active_window)

    def _follow_active_window(self) -> None:
        active = QApplication.activeWindow()
        if active is not None and self._dialog_of_window(active):
            self._attach()
        else:
            self._detach()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return False
        act = self.keys.get(int(event.key()))
        if act is None or event.modifiers() not in (Qt.KeyboardModifier.NoModifier,
                                                    Qt.KeyboardModifier.KeypadModifier):
            return False
        target = QApplication.focusWidget() or QApplication.activeWindow()
        if not isinstance(obj, QWidget) or obj is not target:
            return False  # the same key also passes its window on its way: act once
        if types_letters(obj) or not self._dialog_of_window(obj.window()):
            return False  # a letter of a text; the dashboard's own shortcuts serve it
        if not event.isAutoRepeat():
            act()
        return True  # not typed into the PIN, not a button's mnemonic

    def _dialog_of_window(self, w: QWidget) -> bool:
        """Whether `w` is a dialog the dashboard opened, or one such a dialog opened (not
        one of the session browser's: there the room's alarms are not what is at hand)."""
        if not isinstance(w, QDialog):
            return False
        while isinstance(w, QDialog):
            parent = w.parentWidget()
            if parent is None:
                return False
            w = parent.window()
        return w is self.window
