"""Signing in at a screen: the name-and-PIN dialog (a badge reader that types the name,
Enter, the PIN, Enter works the same), the header's sign-in button, the inactivity
sign-out, and the clinician's sign-in for one step.

Nothing here is ever between the nurse and the vitals or the alarms: the room's sign-in
dialog is not modal and opens over the trend, the tiles and the banner stay as they are,
and A / P work with nobody signed in (recorded as "unidentified at the room screen"), from
the dialog too (ui/alarm_keys.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from monitor.signin import SignIn
from monitor.staff import AuthError, StaffMember
from ui.jobs import Job, describe
from ui.limits_dialog import WARN, LimitEditor
from ui.placement import place_clear_of_numerics
from ui.theme import STYLESHEET, named
from ui.window_filter import WindowFilter, opened_from

if TYPE_CHECKING:
    from ui.dashboard import DashboardWindow

# A key bound to a shortcut (A, P, F...) reaches no widget as a KeyPress: its
# ShortcutOverride does.
INPUT_EVENTS = (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride,
                QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin, QEvent.Type.Wheel)
CHECK_MS = 1000  # how often an idle sign-in is looked at
ACCOUNTS_MS = 5000  # how often the header learns that accounts now exist
CLOSE_BUSY_S = 2.0  # at the end, how long audit rows not written yet wait for the store


class SignInForm(QWidget):
    """Name and PIN. `check(name, pin)` runs off the GUI thread (argon2id is slow by design:
    the alarms keep flashing meanwhile) and returns the member or raises AuthError; then
    `finish(member)` on the GUI thread, which may refuse too. A refusal's message is shown
    (the PIN field is cleared, the name kept); `signedIn` on success."""

    signedIn = Signal(object)  # the StaffMember
    cancelled = Signal()

    def __init__(self, prompt: str, check: Callable[[str, str], StaffMember],
                 finish: Callable[[StaffMember], StaffMember], cancel: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.check = check
        self.finish = finish
        self.member: StaffMember | None = None
        self._job: Job | None = None
        outer = QVBoxLayout(self)
        head = named(QLabel(prompt), "header")
        head.setWordWrap(True)
        outer.addWidget(head)
        form = QFormLayout()
        self.name_field = QLineEdit()
        self.name_field.setPlaceholderText("name, or scan your badge")
        self.pin_field = QLineEdit()
        self.pin_field.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin_field.setPlaceholderText("PIN")
        for f in (self.name_field, self.pin_field):
            f.setMinimumHeight(48)
            f.setStyleSheet("font-size: 24px;")
        form.addRow(named(QLabel("Name"), "headerDim"), self.name_field)
        form.addRow(named(QLabel("PIN"), "headerDim"), self.pin_field)
        outer.addLayout(form)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setStyleSheet(f"color: {WARN.name()}; font-size: 20px;")
        outer.addWidget(self.message)
        row = QHBoxLayout()
        self.sign_in_button = QPushButton("Sign in")
        self.sign_in_button.clicked.connect(self.submit)
        row.addStretch(1)
        if cancel:
            cancel_button = QPushButton("Cancel")
            cancel_button.clicked.connect(self.cancelled.emit)
            row.addWidget(cancel_button)
        row.addWidget(self.sign_in_button)
        outer.addLayout(row)
        for b in self.findChildren(QPushButton):  # Enter belongs to the fields (a badge)
            b.setAutoDefault(False)
            b.setDefault(False)
        self.name_field.returnPressed.connect(self.pin_field.setFocus)
        self.pin_field.returnPressed.connect(self.submit)

    @property
    def busy(self) -> bool:
        return self._job is not None

    def submit(self) -> None:
        name, pin = self.name_field.text().strip(), self.pin_field.text()
        if self.busy:
            return
        if not name:
            self.message.setText("Enter your name (or scan your badge).")
            self.name_field.setFocus()
            return
        self.pin_field.clear()
        self.message.setText("Checking…")
        self.sign_in_button.setEnabled(False)
        job = self._job = Job(lambda: self.check(name, pin),
                              lambda e: str(e) if isinstance(e, AuthError) else describe(e))
        job.signals.done.connect(self._checked)
        job.signals.failed.connect(self._refused)
        job.start()

    @Slot(object)
    def _checked(self, member: StaffMember) -> None:
        try:
            self.member = self.finish(member)
        except AuthError as e:
            self._refused(str(e))
            return
        self._job = None
        self.sign_in_button.setEnabled(True)
        self.message.setText("")
        self.signedIn.emit(self.member)

    @Slot(str)
    def _refused(self, why: str) -> None:
        self._job = None
        self.sign_in_button.setEnabled(True)
        self.message.setText(why)
        self.pin_field.setFocus()

    def clear(self) -> None:
        self.name_field.clear()
        self.pin_field.clear()
        self.message.setText("")


class SignInDialog(QDialog):
    """The form in a dialog of its own; accepted once someone signed in."""

    def __init__(self, title: str, prompt: str, check: Callable[[str, str], StaffMember],
                 finish: Callable[[StaffMember], StaffMember],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Vigil: {title}")
        self.setStyleSheet(STYLESHEET)
        self.form = SignInForm(prompt, check, finish, True, self)
        QVBoxLayout(self).addWidget(self.form)
        self.form.signedIn.connect(lambda _m: self.accept())
        self.form.cancelled.connect(self.reject)
        self.name_field, self.pin_field = self.form.name_field, self.form.pin_field
        self.message = self.form.message
        self.setMinimumWidth(640)

    @property
    def member(self) -> StaffMember | None:
        return self.form.member


class ElidedButton(QPushButton):
    """A button that gives up width on a 1366 px screen: its text is shortened with "…" to
    fit (the whole text in its tip), down to `MIN_WIDTH`."""

    MIN_WIDTH = 150

    def __init__(self) -> None:
        super().__init__("")
        self.full_text = ""
        # Preferred, not a button's Minimum: it may shrink to minimumSizeHint.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def set_full_text(self, text: str) -> None:
        self.full_text = text
        self.setToolTip(text)
        self.updateGeometry()
        self._elide()

    def _chrome(self) -> int:
        """The width the button's frame and padding add to its text."""
        return super().sizeHint().width() - self.fontMetrics().horizontalAdvance(self.text())

    def sizeHint(self) -> QSize:
        # + 4: elidedText rounds; a text exactly as wide as the room would lose a letter.
        width = self.fontMetrics().horizontalAdvance(self.full_text) + self._chrome() + 4
        return QSize(width, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:
        return QSize(self.MIN_WIDTH, super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        text = self.fontMetrics().elidedText(self.full_text, Qt.TextElideMode.ElideMiddle,
                                             max(0, self.width() - self._chrome()))
        if self.text() != text:
            self.setText(text)


class ActivityWatch(WindowFilter):
    """Any key, tap or wheel in `window` (or a dialog it opened) counts as input for
    `signin`; a timer signs out whoever has been idle too long."""

    expired = Signal()

    def __init__(self, window: QWidget, signin: SignIn) -> None:
        super().__init__(window)
        self.signin = signin
        self.timer = QTimer(self)
        self.timer.setInterval(CHECK_MS)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if (event.type() in INPUT_EVENTS and isinstance(obj, QWidget)
                and opened_from(obj, self.window)):
            self.signin.touch()
        return False

    def check(self) -> None:
        if self.signin.pending:  # audit rows the store was too busy for: try again
            self.signin.flush()
        if self.signin.expire():
            self.expired.emit()


class RoomSignIn(QObject):
    """The dashboard's sign-in: a button (hidden while the store has no accounts),
    Ctrl+I, the dialog, and the inactivity sign-out. The window asks `author()` whenever
    someone acts."""

    changed = Signal()

    def __init__(self, window: DashboardWindow, signin: SignIn) -> None:
        super().__init__(window)
        self.window = window
        self.signin = signin
        self.dialog: SignInDialog | None = None
        self.button = ElidedButton()
        self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.button.setFixedHeight(44)
        self.button.clicked.connect(self.toggle)
        self.watch = ActivityWatch(window, signin)
        self.watch.expired.connect(self.update_button)
        self.action = QAction("Sign in", window)
        self.action.setShortcut(QKeySequence("Ctrl+I"))
        self.action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.action.triggered.connect(self.open_dialog)
        window.addAction(self.action)
        self._poll = QTimer(self)
        self._poll.setInterval(ACCOUNTS_MS)
        self._poll.timeout.connect(self._recheck_accounts)
        self._poll.start()

    def author(self) -> str:
        return self.signin.author()

    def _recheck_accounts(self) -> None:
        if self.signin.current is None:
            self.signin._accounts = None
            self.update_button()

    def update_button(self) -> None:
        current = self.signin.current
        self.button.setVisible(self.signin.accounts_exist())
        text = (f"{current.label}: sign out" if current is not None
                else "Sign in  [Ctrl+I]")
        if self.button.full_text != text:
            self.button.set_full_text(text)
        self.changed.emit()

    def toggle(self) -> None:
        if self.signin.current is not None:
            self.signin.sign_out()
            self.update_button()
        else:
            self.open_dialog()

    def open_dialog(self) -> SignInDialog:
        """Not modal: the alarms keep their keys and buttons while it is open."""
        if self.dialog is not None:
            self.dialog.close()
        dialog = self.dialog = SignInDialog(
            "sign in", "Sign in at the room screen (the vitals and alarms never need it)",
            self.signin.check, self.signin.finish_sign_in, self.window)
        dialog.accepted.connect(self.update_button)
        dialog.finished.connect(lambda _r: self.window.activateWindow())  # A, P: its keys
        place_clear_of_numerics(dialog, self.window)
        dialog.show()
        dialog.activateWindow()
        dialog.name_field.setFocus()
        return dialog

    def authorize_clinician(self, step: str,
                            run: Callable[[QDialog], int] = QDialog.exec) -> str | None:
        """The author of a clinician-only step: whoever is signed in if a clinician (or
        anyone while the store has no accounts), else a clinician who signs in for this
        step only. None if nobody did."""
        if not self.signin.accounts_exist() or self.signin.is_clinician():
            return self.signin.author()
        dialog = SignInDialog(
            "clinician", f"{step[0].upper()}{step[1:]} needs a clinician: ask one to sign in "
            "for this step (whoever is signed in stays signed in).",
            self.signin.check, lambda m: self.signin.finish_authorize(step, m), self.window)
        place_clear_of_numerics(dialog, self.window)
        if run(dialog) != QDialog.DialogCode.Accepted or dialog.member is None:
            return None
        return dialog.member.label

    def authorize_loosening(self) -> str | None:
        return self.authorize_clinician("loosening an alarm limit beyond the preset")

    def audited_limits(self, editor: LimitEditor) -> LimitEditor:
        """The same editor, each change also written to the audit trail."""
        def set_limit(rule_id: str, value: float, user: str) -> None:
            old = next((r.limit for r in editor.engine.limit_rules() if r.id == rule_id), None)
            editor.set_limit(rule_id, value, user)
            self.signin.record("limit-change", {"rule": rule_id, "from": old, "to": value,
                                                "preset": editor.preset_limit(rule_id)},
                               actor=user)
        return LimitEditor(editor.engine, tuple(editor.preset_rules.values()), set_limit)


def install_room_signin(window: DashboardWindow, signin: SignIn | None) -> RoomSignIn | None:
    """The dashboard's hook: the sign-in button beside the System strip."""
    if signin is None:
        return None
    room = RoomSignIn(window, signin)
    # The last rows not written yet (the store was busy): one longer try before the end.
    window.closing.connect(lambda: signin.flush(CLOSE_BUSY_S))
    # Right of the System strip, under the banner: the header and the trend bar have no
    # room left at 1366 px, the strip's pills do.
    central = window.centralWidget()
    assert central is not None  # the window built it
    outer = central.layout()
    assert isinstance(outer, QVBoxLayout)
    at = outer.indexOf(window.strip)
    outer.removeWidget(window.strip)
    row = QHBoxLayout()
    row.setSpacing(8)
    row.addWidget(window.strip, 1)
    row.addWidget(room.button)
    outer.insertLayout(at, row)
    room.button.setFixedHeight(window.strip.height())
    room.button.setStyleSheet("font-size: 17px; padding: 0px 12px;")  # the strip's height
    room.update_button()  # once in its bar (shown alone it would be a window)
    return room
