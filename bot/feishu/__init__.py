"""Feishu (Lark) as a messenger: the adapter (:mod:`.adapter`, lark-oapi), cards (:mod:`.render`),
pacing (:mod:`.limits`) and ``FEISHU_*`` (:mod:`.settings`).

Nothing here imports lark-oapi until an adapter is built (the SDK takes seconds to import).
"""
