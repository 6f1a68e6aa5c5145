"""The imports inside the ``aeplugin`` package: no cycle, no private name
taken from another module."""

import ast
from pathlib import Path
from typing import Dict, Iterator, Set, Tuple

PACKAGE = Path(__file__).parents[1] / 'aeplugin'


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def _imports(path: Path) -> Iterator[Tuple[str, Tuple[str, ...]]]:
    """Each import of a module file as (absolute module, imported names);
    ``from . import x`` yields ``package.x`` as the module too."""
    name = _module_name(path)
    package = name if path.name == '__init__.py' else name.rpartition('.')[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[: len(base) - node.level + 1]
                module = '.'.join(
                    base + ([node.module] if node.module else [])
                )
            else:
                module = node.module
            names = tuple(alias.name for alias in node.names)
            yield module, names
            for imported in names:
                yield f'{module}.{imported}', ()


def _graph() -> Tuple[Dict[str, Set[str]], Dict[str, Path]]:
    files = {_module_name(p): p for p in PACKAGE.rglob('*.py')}
    graph = {}
    for name, path in files.items():
        graph[name] = {
            module
            for module, _ in _imports(path)
            if module in files and module != name
        }
    return graph, files


def _find_cycle(graph: Dict[str, Set[str]]):
    """A cycle of the graph as a list of modules, or None."""
    state = {}  # 1: on the current path, 2: done
    path = []

    def visit(node):
        state[node] = 1
        path.append(node)
        for successor in sorted(graph[node]):
            if state.get(successor) == 1:
                return path[path.index(successor) :] + [successor]
            if successor not in state:
                cycle = visit(successor)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_the_graph_finds_a_cycle():
    """The search itself: a cycle through three modules, and none once it
    is cut."""
    graph = {'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}
    assert _find_cycle(graph) == ['a', 'b', 'c', 'a']
    graph['c'] = set()
    assert _find_cycle(graph) is None


def test_the_graph_holds_relative_and_absolute_imports():
    graph, _ = _graph()
    codec = graph['aeplugin.codecs.bottomup_grouping']
    assert {'aeplugin.registry', 'aeplugin.codecs.utils'} <= codec
    assert (
        'aeplugin.codecs.utils.strips' in graph['aeplugin.codecs.utils.peaks']
    )


def test_no_import_cycle_in_aeplugin():
    graph, _ = _graph()
    cycle = _find_cycle(graph)
    assert cycle is None, ' -> '.join(cycle)


def _private(name: str) -> bool:
    return name.startswith('_') and not name.startswith('__')


def _private_uses(path: Path) -> Iterator[str]:
    """The private names a module file takes from other ``aeplugin``
    modules: ``from x import _name``, or ``x._name`` of an imported
    module ``x``."""
    aliases = set()
    for module, names in _imports(path):
        if module.startswith('aeplugin'):
            yield from (f'{module}.{n}' for n in names if _private(n))
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            aliases.update(
                alias.asname or alias.name
                for alias in node.names
                if node.level or (node.module or '').startswith('aeplugin')
            )
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in aliases
            and _private(node.attr)
        ):
            yield f'{node.value.id}.{node.attr}'


def test_private_names_stay_in_their_module():
    """No private name of a module is used by another of ``aeplugin``'s
    modules."""
    _, files = _graph()
    crossing = [
        f'{path.relative_to(PACKAGE.parent)}: {use}'
        for path in files.values()
        for use in _private_uses(path)
    ]
    assert not crossing, crossing
