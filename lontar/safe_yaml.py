"""YAML for configs and task files, with the limits untrusted text needs.

`yaml.safe_load` builds no objects, but it still expands aliases (a few lines of `&a [*b, *b, ...]`
become billions of nodes that hashing or printing the config then walks) and lets a repeated key
silently replace the first one. Here aliases may be used, but the document they expand to is bounded,
and a repeated key is an error naming its line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from lontar.errors import ConfigError

MAX_NODES = 100_000  # nodes of the expanded document: far beyond any config, far below a bomb
MAX_BYTES = 8 << 20  # a config or task file larger than this is not a config


class YamlLimitError(yaml.YAMLError):
    """The document breaks a limit (size, expansion, duplicate key); `line` is 1-based or None."""

    def __init__(self, problem: str, line: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line


class _StrictLoader(yaml.SafeLoader):
    def construct_mapping(self, node: Node, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node.start_mark.line + 1)
                except TypeError:  # an unhashable key: the base class reports it
                    continue
                if first != key_node.start_mark.line + 1:
                    raise YamlLimitError(f"duplicate key {str(key)[:80]!r} (first on line {first})",
                                         key_node.start_mark.line + 1)
        return super().construct_mapping(node, deep=deep)  # type: ignore[arg-type]


def _expanded_size(root: Node, limit: int) -> int:
    """Nodes the document has once every alias is expanded, counted without expanding (shared nodes are
    counted once per reference, from a memo), stopping as soon as the limit is passed."""
    memo: dict[int, int] = {}
    on_path: set[int] = set()

    def size(node: Node) -> int:
        key = id(node)
        if key in memo:
            return memo[key]
        if key in on_path:  # a recursive alias: infinite once expanded
            return limit + 1
        on_path.add(key)
        total = 1
        if isinstance(node, SequenceNode):
            children = node.value
        elif isinstance(node, MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = []
        for child in children:
            total += size(child)
            if total > limit:
                break
        on_path.discard(key)
        memo[key] = total
        return total

    return size(root)


def load(text: str | bytes, *, max_nodes: int = MAX_NODES) -> Any:
    """Parse one YAML document under the limits; raises yaml.YAMLError (YamlLimitError for a limit)."""
    if len(text) > MAX_BYTES:
        raise YamlLimitError(f"{len(text):,} bytes, more than the {MAX_BYTES:,} a YAML file may have")
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, max_nodes) > max_nodes:
            raise YamlLimitError(f"aliases expand to more than {max_nodes:,} nodes (an alias bomb?)")
        return loader.construct_document(node)
    except RecursionError:
        raise YamlLimitError("nested too deeply") from None
    finally:
        loader.dispose()


def load_file(path: Path) -> Any:
    """A YAML file under the limits, or a one-line ConfigError naming the file and line."""
    try:
        raw = path.read_bytes()
        if len(raw) > MAX_BYTES:
            raise YamlLimitError(f"{len(raw):,} bytes, more than the {MAX_BYTES:,} a YAML file may have")
        text = raw.decode("utf-8")
        return load(text)
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: not a YAML text file (invalid UTF-8 at byte {e.start})") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a YAML file") from None
    except yaml.YAMLError as e:
        line = getattr(e, "line", None)
        mark = getattr(e, "problem_mark", None)
        if line is None and mark is not None:
            line = mark.line + 1
        raise ConfigError(f"{path}{':' + str(line) if line else ''}: invalid YAML: {getattr(e, 'problem', e)}") from None
