"""The domain: who may see and change what, the workspace views, the writes, digests and the
19 guided actions. Plain functions and dataclasses that take a session and an explicit ``now``.

Grouped by feature; a feature keeps its reads (``queries``), its writes (``ops``, each returning
an :class:`rules.op_result.OpResult`) and what a user reads (``wording``) side by side:
``tasks``, ``deals``, ``meetings``, ``leads``, ``workspace`` (views that combine them),
``digests``, ``settings`` and ``guided_actions``. Shared by all: ``clock`` (the one clock),
``permissions``, ``op_result``, ``wording``, ``records`` and ``write_hooks``.
See docs/architecture.md.
"""
