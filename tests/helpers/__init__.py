"""What many test files share, one definition each:

- `paths`: the repository, `main.py` and the shared data beside the repository;
- `waiting`: polling an observable condition with a deadline (`until`);
- `sinks`: `Collector`, a runtime sink a test waits on for a message;
- `processes`: ending a child process (`end_process`) and reading its output by line
  (`OutputLines`);
- `dashboard`: the real `main.py dashboard` process (`Dashboard`);
- `qt`: modal dialogs (`in_dialog`) and pixels of a grabbed widget (Qt tests only).
"""
