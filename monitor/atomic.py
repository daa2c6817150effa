"""Writing an output file whole or not at all.

Exports go to a temporary file beside the target (mode 0600: they hold patient data),
are flushed to disk, then renamed over the target. A full disk or an unwritable folder
raises ExportError naming the path, and leaves no half-written file behind.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


class ExportError(Exception):
    """An export that could not be written; the message names the file and the reason."""


def write_atomically(target: str | Path, write: Callable[[IO[Any]], Any], *,
                     binary: bool = False) -> Any:
    """Calls `write(f)` on a temporary file, then renames it to `target`.

    `target` "-" writes to standard output instead.
    """
    if str(target) == "-":
        stream = sys.stdout.buffer if binary else sys.stdout
        result = write(stream)
        stream.flush()
        return result
    path = Path(target)
    if path.is_dir():
        raise ExportError(f"{path}: is a directory; give a file name")
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as e:
        raise ExportError(f"{path}: cannot write there: {e.strerror}") from e
    try:
        mode = "wb" if binary else "w"
        kwargs: dict[str, Any] = {} if binary else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(fd, mode, **kwargs) as f:
            result = write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise ExportError(f"{path}: cannot write: {e.strerror or e}") from e
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return result
