"""The order ONNX requires of a graph's nodes, checked before anything reads
the graph: every input a node reads is a graph input, an initializer, or
the output of a node before it (the nodes are topologically sorted), and
every value is produced once. A graph with a cycle, an input nothing
produces, or its nodes out of order is refused in one line naming the node
and the input; the same holds inside the subgraphs of If and Loop nodes,
which may also read what the outer graph has produced before them."""
from __future__ import annotations

from ..errors import SpecError


def check_order(graph, path: str, outer: frozenset = frozenset()) -> None:
    """Raise a SpecError for the first node that reads a value not produced
    before it, or produces one already produced."""
    known = set(outer) | {vi.name for vi in graph.input} | {t.name for t in graph.initializer}
    later = {o: k for k, n in enumerate(graph.node) for o in n.output if o}
    for k, node in enumerate(graph.node):
        for name in node.input:
            if name and name not in known:
                raise SpecError(_unproduced(graph, k, name, later), path)
        for a in node.attribute:
            for sub in ([a.g] if a.HasField("g") else []) + list(a.graphs):
                check_order(sub, path, frozenset(known))
        for name in node.output:
            if not name:
                continue
            if name in known:
                raise SpecError(f"{_node(graph, k)}: its output {name!r} is already "
                                f"{_made(graph, k, name)}; a value is produced once", path)
            known.add(name)
    if not outer:
        for vi in graph.output:
            if vi.name not in known:
                raise SpecError(f"graph output {vi.name!r} is produced by no node, "
                                "initializer or graph input", path)


def _node(graph, k: int) -> str:
    n = graph.node[k]
    return f"node {n.name!r} ({n.op_type})" if n.name else f"{n.op_type} node number {k + 1}"


def _made(graph, k: int, name: str) -> str:
    """Where a value the K-th node produces again was produced first."""
    first = next((j for j in range(k) if name in graph.node[j].output), None)
    return f"produced by {_node(graph, first)}" if first is not None \
        else "a graph input or initializer"


def _unproduced(graph, k: int, name: str, later: dict) -> str:
    """Why the K-th node cannot read NAME: nothing produces it, a node that
    depends on this one does (a cycle), or a node after it does."""
    where = f"{_node(graph, k)}: input {name!r}"
    j = later.get(name)
    if j is None:
        return f"{where} is produced by no node, initializer or graph input"
    if j == k:
        return f"{where} is its own output: the graph has a cycle"
    if _depends(graph, j, k, later):
        return (f"{where} comes from {_node(graph, j)}, which depends on this node's "
                "output: the graph has a cycle")
    return (f"{where} is produced by {_node(graph, j)}, later in the file; ONNX requires "
            "the nodes in topological order (each after the nodes it reads)")


def _depends(graph, start: int, target: int, later: dict) -> bool:
    """Whether node START reads, through any chain of nodes, an output of
    node TARGET."""
    seen, todo = {start}, [start]
    while todo:
        for name in graph.node[todo.pop()].input:
            j = later.get(name)
            if j == target:
                return True
            if j is not None and j not in seen:
                seen.add(j)
                todo.append(j)
    return False
