"""Help output that reads like a well-kept CLI, on typer's rich help.

typer (0.29) shows every parameter's Python type as a placeholder (``--debug <bool>``,
``<list[Path]>``) and required arguments as ``{name}`` in the usage line. Here flags show no
placeholder, an argument shows its ``metavar=`` (PATH..., ID) and nothing else, and every command
takes ``-h``/``--help`` and ``--debug``. Commands declare readable metavars themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

HELP_OPTION_NAMES = ["-h", "--help"]
DEBUG_HELP = "Show tracebacks on errors."

#: set by any --debug (the app's or a command's); main() reads it
state = {"debug": False}


class _Argument(TyperArgument):
    """An argument shown by its metavar alone: ``ID`` / ``[PATH...]``, no Python type."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None if self.metavar else super().display_type_rich(ctx)

    def _usage_display_name(self) -> str:
        if not self.metavar:
            return super()._usage_display_name()
        return self.metavar if self.required else f"[{self.metavar}]"


def _set_debug(ctx: Any, param: Any, value: bool) -> bool:
    if value:
        state["debug"] = True
    return value


def _debug_option() -> TyperOption:
    from typer._coercion import bool_flag_type_descriptor  # how typer builds its own --help flag

    return TyperOption(param_decls=["--debug"], is_flag=True, expose_value=False, is_eager=True, metavar="",
                       help=DEBUG_HELP, callback=_set_debug, type_descriptor=bool_flag_type_descriptor())


def _tidy(params: list[Any]) -> None:
    for param in params:
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""  # a flag takes no value: no placeholder
        elif type(param) is TyperArgument:
            param.__class__ = _Argument  # typer builds TyperArgument itself and offers no class hook
            if not param.metavar:
                param.metavar = (param.name or "value").upper() + ("..." if param.nargs != 1 else "")


class _Tidy:
    """Tidy help and a ``--debug`` of its own (mixed into typer's command and group classes)."""

    params: list[Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not any("--debug" in p.opts for p in self.params):
            self.params.append(_debug_option())
        _tidy(self.params)

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            _tidy([option])
        return option


class Command(_Tidy, TyperCommand):
    """A command with tidy help and its own ``--debug``."""


class Group(_Tidy, TyperGroup):
    """A command group with tidy help and ``--debug`` (the app's own comes from its callback)."""


class Typer(typer.Typer):
    """typer.Typer whose groups and commands use the classes above, and ``-h`` besides ``--help``."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("cls", Group)
        settings = dict(kwargs.pop("context_settings", None) or {})
        settings.setdefault("help_option_names", HELP_OPTION_NAMES)
        super().__init__(context_settings=settings, **kwargs)

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        kwargs.setdefault("cls", Command)
        return super().command(*args, **kwargs)
