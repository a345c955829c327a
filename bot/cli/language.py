"""The language the ``kpibot`` command line speaks to the person at the terminal: one rule.

    code = ui_lang(lang_ui)            # messages of a command
    command = localized(click_command, code)   # its --help, every command and option

**Which language**: ``--lang-ui zh|en`` on the command line; else the terminal's locale
(``LC_ALL``, ``LC_MESSAGES``, ``LANG``: ``zh_CN.UTF-8`` is Chinese, ``en_GB.UTF-8`` English;
``C`` and ``POSIX`` say nothing); else ``DEFAULT_LANG``; else Chinese. ``--help`` follows the
same rule, so ``LANG=zh_CN.UTF-8 kpibot import --help`` and ``kpibot member list --help
--lang-ui zh`` are in Chinese, and so are typer's own words when a command line is wrong
(``缺少选项 '--team'。``, the usage line's ``[选项]``; :data:`ERRORS`).

**Two flags, two meanings**: ``--lang-ui`` is the language kpibot answers you in, on every
command that prints messages; ``--lang`` is a team's or a member's own language (``team add``,
``member add``, ``member set``). ``import``, ``show-source``, ``qa`` and ``scheme check`` took
``--lang`` for the messages before: it is still read there, hidden from ``--help``. Before the
command, ``kpibot --lang-ui zh COMMAND …`` chooses for the command and its help alike.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import typer

from commands.i18n import LANGUAGES, Translate, normalize_lang, translator

Command = Any
"""A click command as typer builds it (``typer.main.get_command``; typer carries its own click)."""

LANG_UI_HELP = "The language kpibot answers in: zh or en (default: your locale, else DEFAULT_LANG)."


def lang_ui_option() -> Any:
    """The ``--lang-ui`` option every command that prints messages takes."""
    return typer.Option(None, "--lang-ui", metavar="zh|en", help=LANG_UI_HELP)


def old_lang_option() -> Any:
    """``--lang`` where it used to mean the messages' language (hidden; ``--lang-ui`` wins)."""
    return typer.Option(None, "--lang", hidden=True)


def locale_lang(environ: Mapping[str, str] | None = None) -> str | None:
    """zh or en when the terminal's locale names one of them, else None."""
    env = os.environ if environ is None else environ
    for key in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(key, "")
        if value:  # the first one set decides, as for gettext
            head = value.replace("-", "_").split("_")[0].split(".")[0].lower()
            return head if head in LANGUAGES else None
    return None


_chosen: list[str | None] = [None]
"""``kpibot --lang-ui zh COMMAND …``: the root's choice, for every command under it (one
process)."""


def choose(lang_ui: str | None) -> None:
    """The root command's ``--lang-ui`` (set, or cleared, on every run)."""
    _chosen[0] = lang_ui


def ui_lang(explicit: str | None = None, *, environ: Mapping[str, str] | None = None) -> str:
    """The module docstring's rule: ``--lang-ui``, the locale, ``DEFAULT_LANG``, Chinese."""
    if explicit or _chosen[0]:
        return normalize_lang(explicit or _chosen[0])
    found = locale_lang(environ)
    if found is not None:
        return found
    env = os.environ if environ is None else environ
    if env.get("DEFAULT_LANG"):
        return normalize_lang(env["DEFAULT_LANG"])
    try:
        from bot.settings import load_settings

        return normalize_lang(load_settings().default_lang)
    except Exception:  # noqa: BLE001 - a broken .env must not stop --help
        return normalize_lang(None)


def lang_in_argv(argv: Sequence[str]) -> str | None:
    """The value of ``--lang-ui`` (``--lang-ui zh`` or ``--lang-ui=zh``) anywhere on the line."""
    for i, word in enumerate(argv):
        if word.startswith("--lang-ui="):
            return word.split("=", 1)[1]
        if word == "--lang-ui" and i + 1 < len(argv):
            return argv[i + 1]
    return None


TYPER_WORDS = {
    "ARGUMENTS_PANEL_TITLE": "Arguments",
    "OPTIONS_PANEL_TITLE": "Options",
    "COMMANDS_PANEL_TITLE": "Commands",
    "ERRORS_PANEL_TITLE": "Error",
    "REQUIRED_LONG_STRING": "[required]",
    "DEFAULT_STRING": "[default: {}]",
    "ABORTED_TEXT": "Aborted.",
    "RICH_HELP": "Try [blue]'{command_path} {help_option}'[/] for help.",
}
"""The words typer's help screen adds around ours (``typer.rich_utils``), by their English."""
CLICK_WORDS = ("Usage:",)
"""The words click itself writes on the help screen (``click.formatting``'s gettext)."""
USAGE_WORDS = ("[OPTIONS]", "COMMAND [ARGS]...")
"""What the usage line says for options and a group's commands (``options_metavar``,
``subcommand_metavar``)."""

ERRORS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), msgid)
    for pattern, msgid in (
        (r"^Missing option (?P<hint>.+)\.$", "Missing option {hint}."),
        (r"^Missing argument (?P<hint>.+)\.$", "Missing argument {hint}."),
        (r"^Missing parameter (?P<hint>.+)\.$", "Missing parameter {hint}."),
        (r"^Missing command\.$", "Missing command."),
        (r"^No such option: (?P<name>\S+) \(Possible options: (?P<options>.+)\)$",
         "No such option: {name} (did you mean {options}?)"),
        (r"^No such option: (?P<name>\S+)$", "No such option: {name}"),
        (r"^No such command (?P<name>'.+')\. Did you mean (?P<options>.+)\?$",
         "No such command {name}. Did you mean {options}?"),
        (r"^No such command (?P<name>'.+')\.$", "No such command {name}."),
        (r"^Option (?P<name>'.+') requires an argument\.$", "Option {name} requires a value."),
        (r"^Option (?P<name>'.+') requires (?P<n>\d+) arguments\.$",
         "Option {name} requires {n} values."),
        (r"^Option (?P<name>'.+') does not take a value\.$",
         "Option {name} does not take a value."),
        (r"^Got unexpected extra arguments? \((?P<args>.*)\)$",
         "Unexpected extra argument: {args}"),
        (r"^Invalid value for (?P<hint>.+?): (?P<detail>.+)$",
         "Invalid value for {hint}: {detail}"),
    )
)  # fmt: skip
"""What typer and its click say when a command line is wrong (``typer._click.exceptions``,
``typer.core``: plain English, no gettext), by their English, and the message id it reads as."""
_PATH = r"^(?:File|Directory|Path) (?P<path>'.+')"
DETAILS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), msgid)
    for pattern, msgid in (
        (r"^Input should be a valid integer", "it should be a whole number"),
        (r"^Input should be a valid (?:number|decimal|float)", "it should be a number"),
        (r"^Input should be a valid boolean", "it should be yes or no (true, false)"),
        (r"^Input should be a valid date", "it should be a date such as 2026-11-13"),
        (r"^Input should be a valid datetime",
         "it should be a date and time such as 2026-11-13 18:00"),
        (r"^Input should be (?P<choices>'.+')$", "it should be {choices}"),
        (_PATH + r" does not exist\.$", "{path} does not exist."),
        (_PATH + r" is a directory\.$", "{path} is a folder, not a file."),
        (_PATH + r" is a file\.$", "{path} is a file, not a folder."),
        (_PATH + r" is not readable\.$", "{path} cannot be read."),
        (_PATH + r" is not writable\.$", "{path} cannot be written."),
    )
)  # fmt: skip
"""Why a value was refused (pydantic's and click's words inside ``Invalid value for …``)."""


def error_text(message: str, _: Translate) -> str:
    """typer's English error ``message`` in the reader's language (:data:`ERRORS`); a message
    it does not know stays as typer wrote it."""
    for pattern, msgid in ERRORS:
        found = pattern.match(message)
        if found is None:
            continue
        words = found.groupdict()
        if "options" in words:
            words["options"] = _listed(words["options"], _)
        if "detail" in words:
            words["detail"] = _detail(words["detail"], _)
        return _(msgid, **words) if words else _(msgid)
    return message


def _listed(words: str, _: Translate) -> str:
    """``'a', 'b' or 'c'`` as a list in the reader's language (``'a'、'b'、'c'``)."""
    return _(", ").join(re.split(r", | or ", words))


def _detail(detail: str, _: Translate) -> str:
    for pattern, msgid in DETAILS:
        found = pattern.match(detail)
        if found is not None:
            words = {k: _listed(v, _) for k, v in found.groupdict().items()}
            return _(msgid, **words) if words else _(msgid)
    return detail


def help_texts(command: Command) -> list[str]:
    """Every help text of ``command`` and the commands under it (what :func:`localized`
    translates)."""
    out: list[str] = []
    for c in _walk(command):
        out += [t for t in (c.help, c.short_help) if t]
        out += [help_ for p in c.params if (help_ := getattr(p, "help", None))]
    return list(dict.fromkeys(out))


def _walk(command: Command) -> list[Command]:
    found = [command]
    for sub in getattr(command, "commands", {}).values():
        found += _walk(sub)
    return found


def localized(command: Command, lang: str) -> Command:
    """``command`` with its help, its commands' and their options' help in ``lang`` (changed in
    place: a fresh ``typer.main.get_command`` each time). English is the text as written."""
    from typer import rich_utils
    from typer._click import core, formatting

    _ = translator(lang)
    for name, english in TYPER_WORDS.items():
        setattr(rich_utils, name, _(english))
    usage = _("Usage:") + " "

    class Formatter(formatting.HelpFormatter):
        """typer's click writes ``Usage: `` as it is; this one in ``lang``."""

        def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
            super().write_usage(prog, args, usage if prefix is None else prefix)

    core.Context.formatter_class = Formatter
    plain_error = getattr(rich_utils.rich_format_error, "__wrapped__", rich_utils.rich_format_error)

    def format_error(exc: Any) -> None:
        """typer's error box, its message in ``lang`` (``typer.core`` looks it up when failing)."""
        if lang != "en":  # English: as typer writes it
            text = error_text(exc.format_message(), _)
            exc.format_message = lambda: text
        plain_error(exc)

    format_error.__wrapped__ = plain_error  # type: ignore[attr-defined]
    rich_utils.rich_format_error = format_error  # type: ignore[assignment]
    if lang == "en":
        return command
    for c in _walk(command):
        if getattr(c, "options_metavar", None) in USAGE_WORDS:
            c.options_metavar = _(c.options_metavar)
        if getattr(c, "subcommand_metavar", None) in USAGE_WORDS:
            c.subcommand_metavar = _(c.subcommand_metavar)
        c.help = _(c.help) if c.help else c.help
        c.short_help = _(c.short_help) if c.short_help else c.short_help
        for p in c.params:
            if getattr(p, "help", None):
                p.help = _(p.help)
        helper = c.get_help_option(typer.Context(c, info_name=c.name))
        if helper is not None:
            helper.help = _("Show this message and exit.")
    return command
