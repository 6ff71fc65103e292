"""The parts of ``expand`` that need no store: parsing paths and splitting ``fields``
between a document and what is expanded into it."""

from __future__ import annotations

import pytest

from baas.core.data.expand import MAX_DEPTH, MAX_PATHS, Node, ids_in, parse_paths, split_fields
from baas.core.errors import BadRequest


def test_paths_parse_into_segments_once_each() -> None:
    assert parse_paths(" list_id , list_id.owner,,list_id ") == [["list_id"],
                                                                 ["list_id", "owner"]]
    assert parse_paths("") == []


@pytest.mark.parametrize("text", ["a.b.c.d", "a..b", "a.", "$where", "a b"])
def test_bad_paths_are_400_invalid_expand_naming_them(text: str) -> None:
    with pytest.raises(BadRequest) as caught:
        parse_paths(text)
    assert caught.value.code == "invalid_expand"
    assert repr(text) in caught.value.message


def test_depth_and_count_bounds() -> None:
    assert parse_paths(".".join(["a"] * MAX_DEPTH)) == [["a"] * MAX_DEPTH]
    with pytest.raises(BadRequest, match="at most 3 hops"):
        parse_paths(".".join(["a"] * (MAX_DEPTH + 1)))
    assert len(parse_paths(",".join(f"f{n}" for n in range(MAX_PATHS)))) == MAX_PATHS
    with pytest.raises(BadRequest, match=f"at most {MAX_PATHS} paths"):
        parse_paths(",".join(f"f{n}" for n in range(MAX_PATHS + 1)))


def test_fields_split_between_the_document_and_its_expansions() -> None:
    board = Node("board_id", "boards", False)
    list_node = Node("list_id", "lists", False, {"board_id": board})
    tags = Node("tags", "tags", True)
    root = {"list_id": list_node, "tags": tags}
    own = split_fields(root, ["title", "meta.a", "list_id.title", "list_id.board_id.name"])
    # The document keeps what it asked for plus the references expanded from it.
    assert own == ["title", "meta.a", "list_id", "tags"]
    assert list_node.fields == ["title", "board_id"]  # board_id: followed, so kept
    assert board.fields == ["name"]
    assert tags.fields is None  # nothing asked of it: whole


def test_references_are_ids_each_once() -> None:
    assert ids_in("a", False) == ["a"]
    assert ids_in(["a", "b", "a", 3, None, ""], True) == ["a", "b"]
    assert ids_in(["a"], False) == [] and ids_in("a", True) == []
    assert ids_in(None, False) == [] and ids_in("x" * 129, False) == []


def test_back_references_are_not_fields_to_keep() -> None:
    back = Node("items_via_list_id", "items", False, via="list_id")
    board = Node("board_id", "boards", False)
    list_node = Node("list_id", "lists", False, {"board_id": board, "items_via_list_id": back})
    root = {"list_id": list_node, "lists_via_x": Node("lists_via_x", "lists", False, via="x")}
    assert split_fields(root, ["title", "list_id.title"]) == ["title", "list_id"]
    assert list_node.fields == ["title", "board_id"]
