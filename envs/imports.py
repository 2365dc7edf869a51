"""User modules imported before an env is made (``wm ... --import MODULE``, ``env.imports``).

A user's module registers its own gymnasium ids (``gym.register(...)``) or defines an
adapter class; importing it is all the library needs.  The working directory is put on
``sys.path`` first, so a module next to the config needs no ``PYTHONPATH``.  A name ending
in ``.py`` is imported from that file.  Spawned worker processes (collection, evaluation)
import the same modules again, since ``env.imports`` travels in the env kwargs.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType


class UserModuleError(ValueError):
    """A user module could not be imported; the message is one line naming it and why."""


def _reason(err: BaseException) -> str:
    """One line: the exception's type and its first line (``ModuleNotFoundError: No module named 'x'``)."""
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0]}" if text else type(err).__name__


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise FileNotFoundError(f"no such file {path}")
    name = f"wm_user_{path.stem}_{abs(hash(str(path)))}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def cwd_on_path() -> None:
    """Put the working directory at the front of ``sys.path`` (once)."""
    cwd = os.getcwd()
    if cwd not in sys.path and "" not in sys.path:
        sys.path.insert(0, cwd)


def import_user_modules(names: Iterable[str]) -> list[ModuleType]:
    """Import each module (``pkg.mod`` or ``path/to/file.py``); one-line :class:`UserModuleError` on failure."""
    names = [str(n) for n in names]
    if names:
        cwd_on_path()
    modules = []
    for name in names:
        if not name.strip():
            raise UserModuleError("env.imports: empty module name")
        try:
            if name.endswith(".py"):
                modules.append(_import_file(Path(name).resolve()))
            else:
                modules.append(importlib.import_module(name))
        except Exception as err:  # any failure of user code is reported the same way
            raise UserModuleError(f"cannot import user module {name!r} ({_reason(err)})") from None
    return modules
