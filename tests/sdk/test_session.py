import pytest

from procvision_algorithm_sdk import Session


def test_set_get_delete_exists():
    session = Session("s-1", {"product_code": "A1", "operator": "li", "trace_id": "t-9"})
    assert not session.exists("count")
    session.set("count", 3)
    assert session.exists("count") and session.get("count") == 3
    assert session.delete("count") is True
    assert session.delete("count") is False
    assert session.get("count", "gone") == "gone"


@pytest.mark.parametrize("value", [object(), {1, 2}, b"bytes", float("nan"), {"a": object()}, {1: "a"},
                                   {"a": [{2.5: 1}]}])
def test_non_json_value_raises_type_error_naming_key_and_type(value):
    session = Session("s-1")
    with pytest.raises(TypeError) as caught:
        session.set("bad_key", value)
    assert "'bad_key'" in str(caught.value)
    assert type(value).__name__ in str(caught.value)
    assert not session.exists("bad_key")


def test_stored_value_is_a_copy_both_ways():
    session = Session("s-1")
    original = {"rects": [1, 2]}
    session.set("state", original)
    original["rects"].append(3)
    assert session.get("state") == {"rects": [1, 2]}
    fetched = session.get("state")
    fetched["rects"].append(4)
    assert session.get("state") == {"rects": [1, 2]}


def test_id_and_context_are_read_only():
    context = {"product_code": "A1", "operator": "li", "trace_id": "t-9"}
    session = Session("s-1", context)
    with pytest.raises(AttributeError):
        session.id = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        session.context = {}  # type: ignore[misc]
    with pytest.raises(TypeError):
        session.context["operator"] = "x"  # type: ignore[index]
    context["operator"] = "changed outside"
    assert session.context["operator"] == "li"
    assert session.id == "s-1"


def test_empty_id_is_refused():
    with pytest.raises(ValueError):
        Session("")
