"""What the CLI prints depends on where it goes: a terminal gets rich tables and help, anything else
(a pipe, a CI log, grep) plain text that is never wrapped mid-sentence."""
from __future__ import annotations

import io
from typing import Any, TextIO

# Wide enough that no line of help or a table is ever wrapped when stdout is not a terminal.
UNWRAPPED = 100_000
# Narrower terminals get click's plain help: rich's option table with whole option names would
# leave the help text a column a few words wide.
RICH_HELP_MIN_COLUMNS = 100


class HeldOutput(io.StringIO):
    """stdout held back until the command ends (see cli.main); looks like the real stream to
    rich and click, so colours and widths are chosen as for the terminal itself."""

    def __init__(self, real: TextIO) -> None:
        super().__init__()
        self.real = real

    def isatty(self) -> bool:
        return bool(getattr(self.real, "isatty", lambda: False)())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.real, "encoding", None) or "utf-8"

    def release(self) -> None:
        self.real.write(self.getvalue())
        self.real.flush()


def console() -> Any:
    """A rich Console for reports: the terminal's width on a terminal; elsewhere no colour, no wrapping."""
    import sys

    from rich.console import Console

    if sys.stdout.isatty():
        return Console(highlight=False, soft_wrap=False)
    return Console(highlight=False, soft_wrap=True, width=UNWRAPPED, no_color=True, force_terminal=False)


def prepare_help(app: Any, tty: bool) -> dict[str, Any]:
    """Set up --help: rich panels on a wide terminal, with option names never cut short; plain text
    wrapped to a narrow terminal; plain and unwrapped elsewhere. Returns click context settings."""
    import shutil

    columns = shutil.get_terminal_size().columns
    if not tty or columns < RICH_HELP_MIN_COLUMNS:
        app.rich_markup_mode = None  # click's plain formatter: names whole, help on the next line if need be
        width = columns if tty else UNWRAPPED
        return {"terminal_width": width, "max_content_width": width}
    from rich.table import Table
    from typer import rich_utils

    app.rich_markup_mode = "rich"

    class OptionsTable(Table):
        """Typer's options table lets rich squeeze every column; only the help column may wrap here."""

        def add_row(self, *renderables: Any, **kwargs: Any) -> None:
            if not self.columns:  # typer adds no columns to the options table, only rows
                for i in range(len(renderables)):  # names whole; the type and help wrap, long words fold
                    wraps = i >= len(renderables) - 2
                    self.add_column(no_wrap=not wraps, overflow="fold" if wraps else "ellipsis")
            super().add_row(*renderables, **kwargs)

    rich_utils.Table = OptionsTable
    return {}
