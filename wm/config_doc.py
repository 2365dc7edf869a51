"""``wm config [SECTION]``: every config key with its type, default and docstring.

The docstrings are the attribute docstrings of the section dataclasses (the string literal
under each field), read from their source with :mod:`ast`, so the listing cannot drift from
the code.
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import textwrap
import typing
from typing import Any

from wm.config import ConfigError, RunConfig


def sections() -> dict[str, type]:
    """Section name -> its dataclass, in file order (``env``, ``data``, ``model``, ...)."""
    hints = typing.get_type_hints(RunConfig)
    return {f.name: hints[f.name] for f in dataclasses.fields(RunConfig)}


def field_docs(cls: type) -> dict[str, str]:
    """Field name -> its attribute docstring (whitespace collapsed; ``""`` when it has none)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs: dict[str, str] = {}
    for stmt, nxt in zip(body, [*body[1:], None], strict=True):
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            is_doc = (isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant)
                      and isinstance(nxt.value.value, str))
            docs[stmt.target.id] = " ".join(nxt.value.value.split()) if is_doc else ""
    return docs


def type_name(tp: Any) -> str:
    """``int``, ``float``, ``tuple[str, ...]``, ``dict[str, Any]``."""
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__name__
    return str(tp).replace("typing.", "")


def default_of(f: dataclasses.Field) -> Any:
    """A field's default as plain data (tuples as lists)."""
    value = f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]
    return list(value) if isinstance(value, tuple) else value


def _entry(section: str, f: dataclasses.Field, tp: Any, doc: str, current: Any) -> str:
    line = f"{section}.{f.name}: {type_name(tp)} = {json.dumps(default_of(f))}"
    if current is not None:
        value = list(current) if isinstance(current, tuple) else current
        if value != default_of(f):
            line += f"  (this config: {json.dumps(value)})"
    body = textwrap.fill(doc, 96, initial_indent="    ", subsequent_indent="    ") if doc else ""
    return f"{line}\n{body}" if body else line


def describe_section(name: str, cls: type, cfg: RunConfig | None = None, key: str | None = None) -> str:
    """One section (or one of its keys): its docstring, then ``section.key: type = default`` and the key's doc."""
    hints, docs = typing.get_type_hints(cls), field_docs(cls)
    fields = [f for f in dataclasses.fields(cls) if key is None or f.name == key]
    if not fields:
        known = ", ".join(f.name for f in dataclasses.fields(cls))
        raise ConfigError(f"unknown config key '{name}.{key}' (known: {known})")
    values = getattr(cfg, name) if cfg is not None else None
    lines = [f"[{name}] {' '.join((cls.__doc__ or '').split())}"] if key is None else []
    for f in fields:
        lines.append(_entry(name, f, hints[f.name], docs[f.name], getattr(values, f.name, None)))
    return "\n".join(lines)


def describe_config(which: str | None = None, cfg: RunConfig | None = None) -> str:
    """The listing of ``wm config``: every section, one section (``train``) or one key (``train.steps``).

    With ``cfg`` (a loaded config), keys whose value there differs from the default show it.
    """
    known = sections()
    if which is None:
        return "\n\n".join(describe_section(n, c, cfg) for n, c in known.items())
    name, _, key = which.partition(".")
    if name not in known:
        raise ConfigError(f"unknown config section '{name}' (known: {', '.join(known)})")
    return describe_section(name, known[name], cfg, key or None)


def add_parser(sub: Any) -> None:
    """Register ``wm config [SECTION[.KEY]] [--config FILE] [--set ...]`` on the CLI's subparsers."""
    p = sub.add_parser("config", help="list every config key with its type, default and docstring",
                       description="List the config keys (all, one section, or one key) with their type, "
                                   "default and docstring; with --config/--set, also the values that differ.")
    p.add_argument("section", nargs="?", help="a section (train) or one key (train.steps); default: all")
    p.add_argument("--config", help="also show the values of this YAML config where they differ from the default")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="override a value of that config (repeatable)")


def run(args: Any) -> int:
    """``wm config``: print :func:`describe_config` for the parsed ``args``."""
    from wm.config import load_config

    cfg = load_config(args.config, args.set) if args.config or args.set else None
    print(describe_config(args.section, cfg))
    return 0
