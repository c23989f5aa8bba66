"""The one error handler: a library :class:`~tunegan.errors.TuneganError` becomes one line
``error: ...`` on stderr and exit code 1; Ctrl+C exits 130. Never a traceback."""

from __future__ import annotations

import functools

import typer

from ..errors import TuneganError


def one_line(err: BaseException) -> str:
    text = str(err)
    return text.splitlines()[0] if text.strip() else type(err).__name__


def handle_errors(fn):
    """Wrap a typer command so library errors end as one line and a non-zero exit code."""

    @functools.wraps(fn)
    def wrapper(*a, **kw):
        try:
            return fn(*a, **kw)
        except TuneganError as e:
            typer.echo(f"error: {one_line(e)}", err=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            typer.echo("interrupted", err=True)
            raise typer.Exit(130) from None

    return wrapper


def parse_pairs(items: list[str] | None) -> dict[str, str]:
    """``["lr=0.01", "mode=gan"]`` -> ``{"lr": "0.01", "mode": "gan"}`` (values stay strings: the
    library converts them to each field's type)."""
    out = {}
    for it in items or []:
        if "=" not in it:
            raise TuneganError(f"'{it}' is not KEY=VALUE")
        k, v = it.split("=", 1)
        out[k.strip()] = v
    return out
