"""Command-line options generated from the settings dataclasses: one source for names, defaults and
help text, so a default changed in a config changes the CLI and its help."""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import textwrap
import types
import typing
from collections.abc import Callable
from typing import Any

import rich.markup
import typer

from pmaxent.cli.errors import bad_input

#: Config fields whose option has another name than --field-name (kept from earlier releases).
OPTION_NAMES = {"agents": ("--agents", "-m"), "batch_size": ("--batch",), "methods": ("--method",)}
#: Fields the CLI sets otherwise (layout: read from --map FILE).
NOT_OPTIONS = ("layout",)


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """The attribute docstrings of a dataclass and its dataclass bases (the string below each field)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not dataclasses.is_dataclass(klass):
            continue
        body = ast.parse(textwrap.dedent(inspect.getsource(klass))).body[0].body
        for node, following in zip(body, body[1:], strict=False):  # each statement and the next: one pair fewer
            if (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                docs[node.target.id] = " ".join(following.value.value.split())
    return docs


def option_fields(cls: type) -> dict[str, dataclasses.Field]:
    """The fields of a settings dataclass that apply to it (less its ``not_applicable`` ClassVar)."""
    excluded = getattr(cls, "not_applicable", ())
    return {f.name: f for f in dataclasses.fields(cls) if f.name not in excluded and f.name not in NOT_OPTIONS}


def _shown(value: Any) -> str:
    if value is None:
        return "the environment's"
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def _help(classes: dict[str, type], name: str) -> str:
    owners = {family: cls for family, cls in classes.items() if name in option_fields(cls)}
    docs = {family: field_docs(cls).get(name, "") for family, cls in owners.items()}
    defaults = {family: _shown(option_fields(cls)[name].default) for family, cls in owners.items()}
    if len(set(docs.values())) == 1:
        text = next(iter(docs.values()))
    else:
        text = " ".join(f"{family}: {doc}" for family, doc in docs.items())
    scope = "" if len(owners) == len(classes) else f" [{', '.join(owners)} only]"
    if len(set(defaults.values())) == 1:
        default = next(iter(defaults.values()))
    else:
        default = "; ".join(f"{family} {value}" for family, value in defaults.items())
    return rich.markup.escape(f"{text}{scope} (default: {default})")


def _cli_type(annotation: Any) -> tuple[Any, Callable[[Any], Any]]:
    """(the option's type, a function turning the option's value into the field's value)."""
    hint = annotation
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    if typing.get_origin(hint) is tuple:
        item = typing.get_args(hint)[0]
        if item is str:
            return list[str], tuple
        return str, lambda text: parse_numbers(text, item)
    return hint, lambda value: value


def parse_numbers(text: str, item: type = int) -> tuple:
    """'0,1,2' -> (0, 1, 2); a bad item raises ValueError naming the text."""
    kind = {int: "integers", float: "numbers"}.get(item, item.__name__)
    try:
        values = tuple(item(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ValueError(f"must be comma-separated {kind}; got {text!r}") from None
    if not values:
        raise ValueError(f"must name at least one of the comma-separated {kind}; got {text!r}")
    return values


def config_options(classes: dict[str, type]) -> tuple[list[inspect.Parameter], dict[str, Callable]]:
    """One keyword parameter (a typer option, default None: the config's own default) per field of
    the union of ``classes`` ({family: dataclass}), and each field's converter."""
    parameters, converters, seen = [], {}, set()
    for cls in classes.values():
        hints = typing.get_type_hints(cls)
        for field in option_fields(cls).values():
            if field.name in seen:
                continue
            seen.add(field.name)
            option_type, converters[field.name] = _cli_type(hints[field.name])
            help_text = _help(classes, field.name)
            names = OPTION_NAMES.get(field.name, ("--" + field.name.replace("_", "-"),))
            if option_type is bool:
                names = (f"{names[0]}/--no-{names[0][2:]}",)
            option = typer.Option(None, *names, help=help_text, show_default=False)
            parameters.append(
                inspect.Parameter(
                    field.name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=option_type | None
                )
            )
    return parameters, converters


def with_config_options(classes: dict[str, type], extra: Callable):
    """Decorate ``command(config_values: dict, **extra_options)``: the CLI sees the fields of
    ``classes`` as options, followed by the parameters of ``extra`` (a signature template)."""
    parameters, converters = config_options(classes)
    extra_parameters = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in inspect.signature(extra).parameters.values()
    ]

    def decorate(command):
        @functools.wraps(command)
        def wrapper(**kwargs):
            values = {}
            for name, convert in converters.items():
                value = kwargs.pop(name)
                if value is not None:
                    try:
                        values[name] = convert(value)
                    except ValueError as error:
                        raise bad_input(f"--{name.replace('_', '-')} {error}") from None
            return command(values, **kwargs)

        wrapper.__signature__ = inspect.Signature(parameters + extra_parameters)
        return wrapper

    return decorate


__all__ = ["config_options", "field_docs", "option_fields", "parse_numbers", "with_config_options"]
