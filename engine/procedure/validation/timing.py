"""Time: the longest path of running steps (loops cut once) against each statutory limit,
and what the compiled model keeps from it: the steps in order and, per step, the longest
running time left to the end of the procedure."""
from __future__ import annotations

import heapq
from datetime import timedelta

from engine.domain import vocabulary as v

from ..specs import ProcessMetadata
from .context import HUMAN_TASKS, ModelContext, Scope


def weight(ctx: ModelContext, node_id: str) -> timedelta:
    kind = ctx.kind[node_id]
    if kind in HUMAN_TASKS:
        step = ctx.steps.get(node_id)
        return step.duration if step is not None and step.clock == v.CLOCK_RUNNING else timedelta(0)
    if kind == "subProcess" and not ctx.is_event_subprocess(node_id):
        inner = ctx.inner_scope(node_id)
        return inner.longest if inner is not None else timedelta(0)
    return timedelta(0)


def longest_paths(ctx: ModelContext, scope: Scope, sources: list[str]
                  ) -> tuple[list[str], dict[str, timedelta], dict[str, str | None]]:
    """Cut loops once (DFS back edges from `sources`), then longest running path to an end in the DAG.

    Returns the topological order, each node's longest remaining time, and the next node on it.
    """
    index = {n: i for i, n in enumerate(scope.nodes)}
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1 on stack, 2 done
    for source in sources:
        if source in state:
            continue
        stack = [(source, iter(scope.successors[source]))]
        state[source] = 1
        while stack:
            node, children = stack[-1]
            nxt = next(children, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                back.add((node, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(scope.successors[nxt])))
    reachable = [n for n in scope.nodes if n in state]
    dag = {n: [m for m in scope.successors[n] if (n, m) not in back and m in state] for n in reachable}
    indegree = {n: 0 for n in reachable}
    for n in reachable:
        for m in dag[n]:
            indegree[m] += 1
    ready = [(index[n], n) for n in reachable if indegree[n] == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, node = heapq.heappop(ready)
        order.append(node)
        for m in dag[node]:
            indegree[m] -= 1
            if indegree[m] == 0:
                heapq.heappush(ready, (index[m], m))
    remaining: dict[str, timedelta] = {}
    best_next: dict[str, str | None] = {}
    for node in reversed(order):
        best, chosen = timedelta(0), None
        for m in dag[node]:
            if chosen is None or remaining[m] > best:
                best, chosen = remaining[m], m
        remaining[node] = weight(ctx, node) + best
        best_next[node] = chosen
    return order, remaining, best_next


def order_scopes(ctx: ModelContext) -> None:
    for scope in reversed(ctx.scopes):  # inner scopes first: a subprocess weighs its longest path
        scope.order, scope.remaining, scope.best_next = longest_paths(ctx, scope, scope.starts)
        scope.longest = max((scope.remaining[s] for s in scope.starts if s in scope.remaining), default=timedelta(0))


def remaining_from(ctx: ModelContext, node: str) -> timedelta:
    """Longest running path from `node` to its scope's end, loops cut as seen from the node
    itself (a step inside a loop, e.g. supplementation, still has the rest of the loop to go)."""
    _, remaining, _ = longest_paths(ctx, ctx.scope_of[node], [node])
    return remaining.get(node, timedelta(0))


def total_remaining(ctx: ModelContext) -> dict[str, timedelta]:
    """Per step: the longest running path from it (itself included) to the process end."""
    after_scope: dict[int, timedelta] = {}

    def after(scope: Scope) -> timedelta:
        key = id(scope)
        if key not in after_scope:
            if scope.parent_node is None:
                after_scope[key] = timedelta(0)
            else:
                node = scope.parent_node
                rest = remaining_from(ctx, node) - weight(ctx, node)
                after_scope[key] = rest + after(ctx.scope_of[node])
        return after_scope[key]

    return {sid: remaining_from(ctx, sid) + after(ctx.scope_of[sid]) for sid in ctx.steps}


def step_order(ctx: ModelContext) -> list[str]:
    ordered: list[str] = []

    def walk(scope: Scope) -> None:
        for node in scope.order:
            if node in ctx.steps:
                ordered.append(node)
            elif ctx.kind[node] == "subProcess":
                inner = ctx.inner_scope(node)
                if inner is not None:
                    walk(inner)

    walk(ctx.scopes[0])
    for scope in ctx.scopes:  # event subprocesses and anything not on a path, in document order
        for node in scope.nodes:
            if node in ctx.steps and node not in ordered:
                ordered.append(node)
    return ordered


def critical_path(ctx: ModelContext) -> list[str]:
    path: list[str] = []
    scope = ctx.scopes[0]
    node = max(scope.starts, key=lambda s: scope.remaining.get(s, timedelta(0)), default=None)
    while node is not None:
        if ctx.kind[node] in HUMAN_TASKS and weight(ctx, node):
            path.append(ctx.elements[node].get("name") or node)
        elif ctx.kind[node] == "subProcess" and weight(ctx, node):
            path.append(ctx.elements[node].get("name") or node)
        node = scope.best_next.get(node)
    return path


def check_limits(ctx: ModelContext, process, metadata: ProcessMetadata) -> None:  # type: ignore[no-untyped-def]
    longest = ctx.scopes[0].longest
    limits = [(None, metadata.time_limit)] + sorted(metadata.limits_by_category.items())
    for category, text in limits:
        budget = v.limit_budget(text, metadata.time_basis)
        if longest <= budget:
            continue
        path = " → ".join(critical_path(ctx))
        label_vi = f" (xã loại {category})" if category else ""
        label_en = f" for {category} communes" if category else ""
        prop = v.TIME_LIMIT + (f".{category}" if category else "")
        ctx.add("limit_exceeded",
                f"Tổng thời gian các bước dài nhất ({v.format_working(longest)}: {path}) vượt thời hạn "
                f"{text}{label_vi} ({v.format_working(budget)} làm việc).",
                f"The longest path of running steps takes {v.format_working(longest)} ({path}), more than "
                f"the limit {prop} = {text}{label_en}, a budget of {v.format_working(budget)} working time.",
                "Shorten step durations on that path, mark waiting-on-citizen steps clock = paused, "
                "or correct the limit.",
                "Rút ngắn thời gian các bước trên đường đó, đánh dấu clock = paused cho bước chờ công dân, "
                "hoặc sửa lại thời hạn.", process)
