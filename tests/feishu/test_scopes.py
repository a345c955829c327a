"""The Feishu app asks for exactly the permissions (scopes) of the API calls and events the
code uses: derived from ``bot/feishu``'s source, compared with ``SCOPES``, the README's
"From the Feishu developer console to the first /rank" and ``deploy/feishu-scopes.json``
(the console's bulk import of permissions) - issue 19."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bot.feishu import adapter

ROOT = Path(__file__).parents[2]
PACKAGE = Path(adapter.__file__).parent

CALL_SCOPES: dict[str, frozenset[str]] = {
    "message.create": frozenset({"im:message", "im:message:send_as_bot"}),
    "message.reply": frozenset({"im:message", "im:message:send_as_bot"}),
    "message.patch": frozenset({"im:message", "im:message:send_as_bot", "im:message:update"}),
    "image.create": frozenset({"im:resource", "im:resource:upload"}),
    "file.create": frozenset({"im:resource", "im:resource:upload"}),
    "message_resource.get": frozenset(
        {"im:message", "im:message:readonly", "im:message.history:readonly"}
    ),
}
"""Each Open API call → the scopes of which any one lets an app call it ("权限要求 … 开启其中
任意一项权限即可调用" on its page under https://open.feishu.cn/document/server-docs/im-v1/)."""
EVENT_SCOPES: dict[str, tuple[frozenset[str], ...]] = {
    "im_message_receive_v1": (
        frozenset({"im:message.p2p_msg:readonly"}),  # what people send kpibot privately
        frozenset({"im:message.group_at_msg:readonly"}),  # group messages that @kpibot
    ),
    "card_action_trigger": (),  # a card callback needs no permission
    "application_bot_menu_v6": (),  # the bot menu's event: "权限要求: 无" on its page
}
"""Each event the dispatcher registers → the scopes it needs (each tuple item: one of them)."""


def api_calls() -> set[str]:
    """Every ``client.im.v1.<resource>.<method>`` in the Feishu package (sync or ``a``-sync)."""
    called: set[str] = set()
    for source in PACKAGE.glob("*.py"):
        text = source.read_text(encoding="utf-8")
        for resource, method in re.findall(r"client\.im\.v1\.([a-z_]+)\.a?([a-z_]+)\b", text):
            called.add(f"{resource}.{method}")
    return called


def events() -> set[str]:
    """Every event the package's dispatcher registers (``register_p2_<event>``, or
    ``register_p2_customized_event("<event.type>", …)``)."""
    found: set[str] = set()
    for source in PACKAGE.glob("*.py"):
        text = source.read_text("utf-8")
        found |= set(re.findall(r"\.register_p2_([a-z0-9_]+)\(", text)) - {"customized_event"}
        for event_type in re.findall(r"\.register_p2_customized_event\(\s*\"([a-z0-9_.]+)\"", text):
            found.add(event_type.replace(".", "_"))
    return found


def needs() -> list[frozenset[str]]:
    """What the code needs: for each call or event, the set of scopes any one of which will do."""
    called, registered = api_calls(), events()
    assert {"message.create", "message.patch", "image.create"} <= called, "the scan found the calls"
    assert "im_message_receive_v1" in registered, "the scan found the events"
    unknown = (called - set(CALL_SCOPES)) | (registered - set(EVENT_SCOPES))
    assert not unknown, f"a new call or event needs its scopes here: {sorted(unknown)}"
    return [CALL_SCOPES[c] for c in sorted(called)] + [
        any_of for e in sorted(registered) for any_of in EVENT_SCOPES[e]
    ]


def readme_scopes() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### From the Feishu developer console to the first `/rank`", 1)[1]
    section = section.split("\n## ", 1)[0].split("\n### ", 1)[0]
    step = section.split("\n2. ", 1)[1].split("\n3. ", 1)[0]
    return re.findall(r"`([a-z_]+:[a-z0-9_.:]+)`", step)


def test_the_scopes_cover_every_call_and_event_and_none_is_spare() -> None:
    declared = set(adapter.SCOPES)
    needed = needs()
    uncovered = [sorted(any_of) for any_of in needed if not any_of & declared]
    assert not uncovered, f"no declared scope lets kpibot do this: {uncovered}"
    for scope in declared:
        without = declared - {scope}
        assert any(not any_of & without for any_of in needed), (
            f"{scope} is not needed: every call and event is allowed without it"
        )
    assert len(adapter.SCOPES) == len(declared)


def test_the_readme_and_the_bulk_import_file_list_exactly_those_scopes() -> None:
    assert readme_scopes() == list(adapter.SCOPES)
    bulk = json.loads((ROOT / "deploy" / "feishu-scopes.json").read_text(encoding="utf-8"))
    assert bulk == {"scopes": {"tenant": list(adapter.SCOPES), "user": []}}


def test_the_readme_subscribes_to_exactly_the_events_the_dispatcher_registers() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### From the Feishu developer console to the first `/rank`", 1)[1]
    step = section.split("\n3. ", 1)[1].split("\n4. ", 1)[0]
    named = set(re.findall(r"`((?:im|card|application)\.[a-z_.0-9]+)`", step))
    dotted = {n.replace("_", ".") for n in named}  # im.message.receive_v1 → im.message.receive.v1
    assert dotted == {e.replace("_", ".") for e in events()}
