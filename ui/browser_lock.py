"""The session browser's lock: once the store has staff accounts, past sessions (patient
records) open only for someone signed in, and lock again after a time without input.

While locked the browser shows only the sign-in, every session it opened is closed, and
nothing can be opened or exported. Each session opened and each export is written to the
audit trail with who did it; with no accounts, the browser works as before and records
them as by "unidentified staff".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from monitor.signin import DEFAULT_IDLE_S, SignIn
from monitor.staff import Role, StaffDirectory
from ui.signin import ActivityWatch, SignInForm
from ui.theme import named

if TYPE_CHECKING:
    from ui.browser import SessionBrowser


class BrowserLock(QObject):
    changed = Signal(bool)  # locked

    def __init__(self, browser: SessionBrowser, idle_s: float = DEFAULT_IDLE_S) -> None:
        super().__init__(browser)
        self.browser = browser
        self.signin = SignIn(StaffDirectory(browser.store_path), "session browser", idle_s)
        content = browser.takeCentralWidget()
        assert content is not None  # the browser built it
        self.stack = QStackedWidget()
        self.page = QWidget()
        page = QVBoxLayout(self.page)
        page.setContentsMargins(0, 80, 0, 0)
        title = named(QLabel("Past sessions are locked"), "patient")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        why = named(QLabel("They hold patients' records: sign in to open or export them. "
                           "Who opened which session is recorded."), "headerDim")
        why.setAlignment(Qt.AlignmentFlag.AlignCenter)
        why.setWordWrap(True)
        self.form = SignInForm("Name and PIN (or scan your badge)", self.signin.check,
                               self.signin.finish_sign_in, cancel=False)
        self.form.setFixedWidth(720)
        page.addWidget(title)
        page.addWidget(why)
        page.addSpacing(30)
        page.addWidget(self.form, 0, Qt.AlignmentFlag.AlignHCenter)
        page.addStretch(1)
        self.stack.addWidget(self.page)
        self.stack.addWidget(content)
        browser.setCentralWidget(self.stack)
        self.user_label = named(QLabel(""), "headerDim")
        browser.statusBar().addPermanentWidget(self.user_label)
        self.form.signedIn.connect(lambda _m: self.unlock())
        self.watch = ActivityWatch(browser, self.signin)
        self.watch.expired.connect(self.lock)
        browser.export.finished.connect(self._exported)
        if self.signin.accounts_exist():
            self.lock()
        else:
            self.unlock()

    @property
    def locked(self) -> bool:
        return self.signin.accounts_exist() and self.signin.current is None

    def lock(self) -> None:
        """Closes what was opened and shows only the sign-in."""
        self.signin.sign_out("locked")
        for view in list(self.browser.views):
            view.close()
        self.form.clear()
        self._actions(False)
        self.stack.setCurrentWidget(self.page)
        self.browser.export.set_clinician(None)
        self.user_label.setText("")
        self.form.name_field.setFocus()
        self.changed.emit(True)

    def _actions(self, enabled: bool) -> None:
        """The browser's keys (Enter opens, F5 refreshes) only while unlocked: Enter then
        belongs to the sign-in fields. Esc still closes it."""
        for action in self.browser.actions():
            if action.text() != "Close":
                action.setEnabled(enabled)

    def unlock(self) -> None:
        self._actions(True)
        self.stack.setCurrentIndex(1)
        who = self.signin.current
        clinician = who.name if who is not None and who.role is Role.CLINICIAN else None
        self.browser.export.set_clinician(clinician)
        self.user_label.setText(f"Signed in: {who.label}" if who is not None else "")
        self.browser.refresh()
        self.changed.emit(False)

    def may_open(self, session_id: int) -> bool:
        """False while locked; else records who opened the session."""
        if self.locked:
            return False
        self.signin.record("session-open", {}, session_id=session_id)
        return True

    def _exported(self, fmt: str, _path: str, ok: bool, _message: str) -> None:
        sid = self.browser.export.last_session_id
        if ok and sid is not None:
            self.signin.record("export", {"format": fmt, "deidentified":
                                          self.browser.export.last_deidentified,
                                          "to": "file"}, session_id=sid)
