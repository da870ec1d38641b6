"""Tests for the pure noderange module: xCAT's grammar, errors, order and speed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nodes.noderange import (
    DEFAULT_MAX_NAMES,
    MAX_FILE_BYTES,
    MAX_PATTERN_CHARS,
    MAX_TEXT_CHARS,
    NoderangeError,
    NoderangeSyntaxError,
    NoderangeTooLargeError,
    UnknownNodesError,
    compress,
    expand,
    natural_key,
)

PADDED = [f"node{i:02d}" for i in range(1, 21)]
UNPADDED = [f"cn{i}" for i in range(1, 13)]
FRAMES = [f"f{f}n{n}" for f in (1, 2) for n in (1, 2, 3)]
HYPHENATED = ["rack1-n1", "rack1-n2", "rack1-n3"]
NODES = [*PADDED, *UNPADDED, *FRAMES, *HYPHENATED, "login"]
GROUPS = {
    "compute": PADDED[:10],  # node01-node10
    "gpu": PADDED[4:12],  # node05-node12
    "rack1": ["node01", "node02"],
    "rack2": ["node03"],
    "login": ["node20"],  # same name as a node: the node wins
    "empty": [],
}
STATUS = {name: ("booted" if name in PADDED[:5] else "off") for name in NODES}


def attrs(node: str) -> dict[str, str]:
    return {
        "status": STATUS[node],
        "mgt": "none" if node == "login" else "ipmi",
        "comments": "spare" if node == "cn12" else "",
    }


def nr(expr: str, **options) -> list[str]:
    options.setdefault("attrs", attrs)
    return expand(expr, nodes=NODES, groups=GROUPS, **options)


def syntax_error(expr: str, **options) -> NoderangeSyntaxError:
    with pytest.raises(NoderangeSyntaxError) as caught:
        nr(expr, **options)
    return caught.value


# --- names, lists, order -----------------------------------------------------------


def test_a_node_name_selects_that_node():
    assert nr("node03") == ["node03"]


def test_comma_list_is_a_union_returned_in_natural_order():
    assert nr("node03,cn10,cn2") == ["cn2", "cn10", "node03"]


def test_a_name_given_twice_appears_once():
    assert nr("node03,node03,rack2") == ["node03"]


def test_spaces_around_commas_are_ignored():
    assert nr(" node01 , node02 ") == ["node01", "node02"]


# --- ranges ------------------------------------------------------------------------


def test_dash_range_keeps_zero_padding():
    assert nr("node08-node11") == ["node08", "node09", "node10", "node11"]


def test_dash_range_without_padding_counts_plainly():
    assert nr("cn8-cn11") == ["cn8", "cn9", "cn10", "cn11"]


def test_colon_range_equals_dash_range():
    assert nr("node08:node11") == nr("node08-node11")


def test_bracket_range_keeps_zero_padding():
    assert nr("node[01-03]") == ["node01", "node02", "node03"]


def test_bracket_colon_range_equals_bracket_dash_range():
    assert nr("node[01:03]") == nr("node[01-03]")


def test_brackets_take_lists_and_ranges():
    assert nr("node[01,03,05-06]") == ["node01", "node03", "node05", "node06"]


def test_several_brackets_give_the_cartesian_product():
    assert nr("f[1-2]n[1-3]") == ["f1n1", "f1n2", "f1n3", "f2n1", "f2n2", "f2n3"]


def test_plus_selects_the_start_and_that_many_more():
    # xCAT's man page: node10+3 is node10,node11,node12,node13.
    assert nr("node10+3") == ["node10", "node11", "node12", "node13"]


def test_plus_keeps_zero_padding():
    assert nr("node08+2") == ["node08", "node09", "node10"]


def test_bare_numbers_mean_node_names_as_in_xcat():
    assert nr("10-12") == ["node10", "node11", "node12"]


def test_bare_number_plus_means_node_names():
    assert nr("10+1") == ["node10", "node11"]


def test_range_of_hyphenated_names_splits_at_the_middle_dash():
    assert nr("rack1-n1-rack1-n3") == HYPHENATED


def test_range_with_equal_ends_is_that_name():
    assert nr("node04-node04") == ["node04"]


def test_range_that_differs_in_more_than_one_number_is_an_unknown_name():
    with pytest.raises(UnknownNodesError) as caught:
        nr("f1n1-f2n3")
    assert caught.value.names == ["f1n1-f2n3"]


def test_range_with_a_missing_member_reports_that_member():
    with pytest.raises(UnknownNodesError) as caught:
        nr("cn11-cn14")
    assert caught.value.names == ["cn13", "cn14"]


def test_backwards_range_is_a_syntax_error():
    assert "runs backwards" in str(syntax_error("node10-node01"))


def test_range_larger_than_the_limit_is_refused_before_expanding():
    with pytest.raises(NoderangeTooLargeError, match="too large"):
        nr(f"node[1-{DEFAULT_MAX_NAMES + 1}]")


def test_cartesian_product_larger_than_the_limit_is_refused():
    with pytest.raises(NoderangeTooLargeError):
        nr("a[1-1000]b[1-1000]")


# --- groups and regular expressions ------------------------------------------------


def test_group_name_selects_its_members():
    assert nr("rack1") == ["node01", "node02"]


def test_node_wins_over_a_group_of_the_same_name():
    assert nr("login") == ["login"]


def test_range_of_group_names_selects_their_members():
    assert nr("rack1-rack2") == ["node01", "node02", "node03"]


def test_all_is_every_node_when_no_group_is_named_all():
    assert nr("all") == sorted(NODES, key=natural_key)


def test_a_group_named_all_replaces_the_implicit_one():
    assert expand("all", nodes=NODES, groups={"all": ["cn1"]}) == ["cn1"]


def test_an_empty_group_selects_nothing_without_error():
    assert nr("empty") == []


def test_regex_matches_whole_node_names():
    assert nr("/node0[1-3]") == ["node01", "node02", "node03"]


def test_regex_is_anchored_at_both_ends():
    assert nr("/cn1") == ["cn1"]


def test_regex_falls_back_to_group_names_when_no_node_matches():
    assert nr("/rack[12]") == ["node01", "node02", "node03"]


def test_regex_matching_nothing_is_not_an_error():
    assert nr("/nothing.*") == []


def test_regex_may_hold_parentheses_and_commas_in_brackets():
    assert nr("/(cn1|cn2),/f1n[,1]") == ["cn1", "cn2", "f1n1"]


def test_bad_regex_is_a_syntax_error_at_the_pattern():
    error = syntax_error("node01,/*node")
    assert error.column == 9


def test_empty_regex_is_a_syntax_error():
    assert syntax_error("/").column == 1


# --- exclusion, intersection, parentheses ------------------------------------------


def test_exclusion_removes_nodes():
    assert nr("rack1-rack2,-node02") == ["node01", "node03"]


def test_exclusion_applies_after_later_inclusions():
    # xCAT man page example 2: exclusion has precedence over node04 listed again.
    assert nr("node01-node06,-node03-node05,node04") == ["node01", "node02", "node06"]


def test_exclusion_may_come_first():
    assert nr("-node01,rack1") == ["node02"]


def test_exclusion_of_a_group_applies_after_groups():
    assert nr("compute,-gpu") == ["node01", "node02", "node03", "node04"]


def test_exclusion_of_a_parenthesised_list():
    assert nr("rack1-rack2,-(node01,node03)") == ["node02"]


def test_intersection_keeps_common_nodes():
    assert nr("compute@gpu") == [f"node{i:02d}" for i in range(5, 11)]


def test_intersection_binds_tighter_than_comma():
    assert nr("node15,compute@rack1") == ["node01", "node02", "node15"]


def test_parentheses_group_before_intersection():
    assert nr("(rack1,node10)@gpu") == ["node10"]


def test_intersections_chain():
    assert nr("compute@gpu@node05-node06") == ["node05", "node06"]


def test_exclusion_inside_parentheses_stays_inside():
    assert nr("(rack1,-node01),node01") == ["node01", "node02"]


# --- attribute selectors -----------------------------------------------------------


def test_selector_equal():
    assert nr("status==booted") == PADDED[:5]


def test_selector_not_equal():
    assert nr("mgt!=ipmi") == ["login"]


def test_selector_regex_searches_the_value():
    assert nr("comments=~par") == ["cn12"]


def test_selector_regex_may_be_written_between_slashes():
    assert nr("comments=~/^spare$/") == ["cn12"]


def test_selector_negated_regex():
    assert len(nr("status!~boot")) == len(NODES) - 5


def test_selector_single_equals_is_xcat_shorthand_for_equal():
    assert nr("status=booted") == nr("status==booted")


def test_selector_accepts_xcat_table_dot_column_names():
    assert nr("nodehm.mgt==none") == ["login"]


def test_selector_combines_with_groups():
    assert nr("gpu@status==booted") == ["node05"]


def test_selector_on_an_unknown_attribute_is_an_error():
    with pytest.raises(NoderangeError, match="unknown attribute 'stauts'"):
        nr("stauts!=booted")


def test_selector_is_refused_without_an_attribute_source():
    with pytest.raises(NoderangeError, match="not available here"):
        nr("status==booted", attrs=None)


def test_malformed_selector_is_a_syntax_error():
    assert syntax_error("node01,=booted").column == 8


# --- ^files ------------------------------------------------------------------------


def test_file_is_refused_unless_allowed(tmp_path: Path):
    (tmp_path / "list").write_text("node01\n")
    with pytest.raises(NoderangeError, match="only allowed on the command line"):
        nr(f"^{tmp_path}/list")


def test_file_lists_one_noderange_per_line(tmp_path: Path):
    (tmp_path / "list").write_text("node01\nnode05-node06\n/cn1[01]\n")
    expected = ["cn10", "cn11", "node01", "node05", "node06"]
    assert nr(f"^{tmp_path}/list", allow_files=True) == expected


def test_file_skips_comments_and_nested_files_and_reads_the_first_word(tmp_path: Path):
    (tmp_path / "list").write_text("# my nodes\n^/etc/other\nnode01: on\nnode02    #x\n\n")
    assert nr(f"^{tmp_path}/list", allow_files=True) == ["node01", "node02"]


def test_file_exclusions_apply_to_the_file(tmp_path: Path):
    (tmp_path / "list").write_text("rack1\n-node02\n")
    assert nr(f"^{tmp_path}/list,node02", allow_files=True) == ["node01", "node02"]


def test_missing_file_is_an_error_naming_it(tmp_path: Path):
    with pytest.raises(NoderangeError, match="cannot read noderange file .*/absent"):
        nr(f"^{tmp_path}/absent", allow_files=True)


def test_syntax_error_in_a_file_names_the_line(tmp_path: Path):
    (tmp_path / "list").write_text("node01\nnode[01\n")
    error = syntax_error(f"^{tmp_path}/list", allow_files=True)
    assert "line 2, column 5" in error.message


# --- errors ------------------------------------------------------------------------


def test_unknown_names_are_all_listed_in_xcat_words():
    with pytest.raises(UnknownNodesError) as caught:
        nr("node01,bogus,-nope")
    assert str(caught.value) == "Invalid nodes and/or groups in noderange: bogus,nope"
    assert caught.value.names == ["bogus", "nope"]


def test_unknown_error_folds_long_runs_of_missing_names():
    with pytest.raises(UnknownNodesError) as caught:
        nr("node[21-30]")
    assert str(caught.value).endswith(": node21-node30")


def test_empty_noderange_is_a_syntax_error():
    assert syntax_error("  ").message == "empty noderange"


def test_trailing_comma_points_past_the_end():
    assert syntax_error("node01,").column == 8


def test_two_commas_point_at_the_second():
    assert syntax_error("node01,,node02").column == 8


def test_unclosed_bracket_points_at_it():
    assert syntax_error("node01,node[01-02").column == 12


def test_unclosed_parenthesis_points_at_it():
    assert syntax_error("node01,(node02,node03").column == 8


def test_unmatched_closing_parenthesis_points_at_it():
    assert syntax_error("node01)").column == 7


def test_stray_closing_bracket_points_at_it():
    assert syntax_error("node01]").column == 7


def test_letters_in_brackets_are_a_syntax_error():
    assert syntax_error("node[a-c]").column == 6


def test_empty_brackets_are_a_syntax_error():
    assert syntax_error("node[]").column == 5


def test_space_inside_a_name_is_a_syntax_error():
    assert syntax_error("node01 node02").column == 7


def test_exclusion_after_at_sign_is_a_syntax_error():
    assert syntax_error("compute@-gpu").column == 9


def test_deep_nesting_is_a_syntax_error_not_a_crash():
    assert "nested too deeply" in syntax_error("(" * 500 + "node01" + ")" * 500).message


def test_syntax_error_message_names_the_column():
    assert str(syntax_error("node01,")).endswith("(at column 8)")


# --- natural order -----------------------------------------------------------------


def test_natural_key_puts_node2_before_node10():
    assert sorted(["node10", "node2", "node1"], key=natural_key) == ["node1", "node2", "node10"]


def test_natural_key_keeps_differently_padded_names_apart_and_ordered():
    assert sorted(["node1", "node01"], key=natural_key) == ["node01", "node1"]


def test_natural_key_survives_absurdly_long_numbers():
    names = ["n" + "9" * 5000, "n2"]
    assert sorted(names, key=natural_key)[0] == "n2"


# --- compress ----------------------------------------------------------------------


def test_compress_folds_a_padded_run_into_a_range():
    assert compress(PADDED[:10] + ["other"]) == "node01-node10,other"


def test_compress_lists_runs_shorter_than_three():
    assert compress(["cn1", "cn2", "cn4"]) == "cn1,cn2,cn4"


def test_compress_splits_a_run_where_padding_changes():
    assert compress(["n08", "n09", "n10", "n1", "n2", "n3"]) == "n1-n3,n08-n10"


def test_compress_of_nothing_is_empty():
    assert compress([]) == ""


def test_compress_does_not_fold_into_a_range_that_is_itself_a_name():
    names = ["a1", "a2", "a3", "a1-a3"]
    assert expand(compress(names), nodes=names, groups={}) == sorted(names, key=natural_key)


def test_compress_folds_only_the_last_number():
    assert compress(FRAMES) == "f1n1-f1n3,f2n1-f2n3"


# --- speed -------------------------------------------------------------------------

BIG = [f"node{i:05d}" for i in range(1, 10_001)]


def best_of_three(expr: str) -> float:
    timings = []
    for _ in range(3):
        start = time.perf_counter()
        assert len(expand(expr, nodes=BIG, groups={"big": BIG})) == 10_000
        timings.append(time.perf_counter() - start)
    return min(timings)


def test_expanding_a_group_of_ten_thousand_nodes_is_fast():
    assert best_of_three("big") < 0.1


def test_expanding_a_range_of_ten_thousand_nodes_is_fast():
    assert best_of_three("node[00001-10000]") < 0.1


# --- properties --------------------------------------------------------------------

prefixes = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=6).filter(
    lambda p: not p.startswith("-")
)


@st.composite
def number_ranges(draw):
    start = draw(st.integers(0, 500))
    end = draw(st.integers(start, start + 60))
    width = draw(st.integers(1, 5))
    return start, end, width


def expected_names(prefix: str, start: int, end: int, width: int) -> list[str]:
    return [f"{prefix}{str(i).zfill(width)}" for i in range(start, end + 1)]


@given(prefixes, number_ranges())
def test_bracket_range_expands_to_exactly_the_padded_names(prefix, bounds):
    start, end, width = bounds
    names = expected_names(prefix, start, end, width)
    inventory = [*names, f"{prefix}x", f"other{start}"]
    expr = f"{prefix}[{str(start).zfill(width)}-{str(end).zfill(width)}]"
    assert expand(expr, nodes=inventory, groups={}) == names


@given(prefixes, number_ranges())
def test_dash_range_expands_to_exactly_the_padded_names(prefix, bounds):
    start, end, width = bounds
    names = expected_names(prefix, start, end, width)
    expr = f"{names[0]}-{prefix}{str(end).zfill(width)}"
    assert expand(expr, nodes=[*names, f"{prefix}x"], groups={}) == names


@given(prefixes, number_ranges())
def test_plus_expands_to_start_and_count_more(prefix, bounds):
    start, end, width = bounds
    names = expected_names(prefix, start, end, width)
    assert expand(f"{names[0]}+{end - start}", nodes=names, groups={}) == names


node_names = st.one_of(
    st.builds(
        lambda p, n, w: f"{p}{str(n).zfill(w)}", prefixes, st.integers(0, 40), st.integers(1, 3)
    ),
    st.text(alphabet="abcxyz019-", min_size=1, max_size=8).filter(lambda n: n[0] != "-"),
)


@given(st.lists(node_names, min_size=1, max_size=60, unique=True))
@example(["a1", "a2", "a3", "a1-a3"])
@example(["n8", "n9", "n10", "n08", "n09"])
def test_compress_round_trips_through_expand(names):
    assert expand(compress(names), nodes=names, groups={}) == sorted(names, key=natural_key)


@given(st.lists(node_names, min_size=1, max_size=40, unique=True), st.data())
def test_compress_of_an_expansion_expands_to_the_same_nodes(names, data):
    subset = data.draw(st.lists(st.sampled_from(names), unique=True))
    expr = ",".join(subset) or names[0]
    selected = expand(expr, nodes=names, groups={})
    assert expand(compress(selected), nodes=names, groups={}) == selected


noderange_text = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="node0123456789[]-:+,@()^/=!~ .*x", max_size=40),
)


@settings(max_examples=400)
@given(noderange_text)
@example("node[01-99999999999999999999]")
@example("node1+99999999999999999999999")
@example("/a{99999999999}")
@example("status=~(")
@example("((((((((((((((((((((((((((((((((((x")
@example("\\")
def test_arbitrary_text_raises_only_noderange_errors(text):
    try:
        result = nr(text)
    except NoderangeError:
        return
    assert set(result) <= set(NODES)


# --- cost bounds (hostile input from anyone who may read the node list) --------------


def too_large(expr: str, **options) -> NoderangeTooLargeError:
    with pytest.raises(NoderangeTooLargeError) as caught:
        nr(expr, **options)
    return caught.value


def refused_quickly(expr: str, **options) -> NoderangeError:
    """The refusal (any NoderangeError) and how long it took, which must be well under 1 s."""
    start = time.perf_counter()
    with pytest.raises(NoderangeError) as caught:
        expand(expr, nodes=BIG, groups={"big": BIG}, **options)
    assert time.perf_counter() - start < 1.0
    return caught.value


def test_ranges_joined_by_commas_are_limited_by_their_total():
    too_large("a[1-60000],b[1-60000]")


def test_many_joined_ranges_are_refused_before_any_is_built():
    hostile = ",".join(f"r{i}[1-99999]" for i in range(50))
    assert isinstance(refused_quickly(hostile), NoderangeTooLargeError)


def test_plus_ranges_count_towards_the_total():
    too_large("a1+60000,b1+60000")


def test_dash_ranges_count_towards_the_total():
    too_large("a1-a60000,b1:b60000")


def test_excluded_ranges_count_towards_the_total():
    too_large("a[1-60000],-b[1-60000]")


def test_intersected_ranges_count_towards_the_total():
    too_large("a[1-60000]@b[1-60000]")


def test_ranges_inside_parentheses_count_towards_the_total():
    too_large("(a[1-60000],(b[1-60000]))")


def test_several_ranges_in_one_bracket_count_towards_the_total():
    too_large("a[1-60000,1-60000]")


def test_repeated_groups_count_their_members():
    assert isinstance(refused_quickly(",".join(["big"] * 11)), NoderangeTooLargeError)


def test_repeated_regexes_count_the_nodes_they_test():
    regexes = ",".join(f"/node0{i}.*" for i in range(11))
    assert isinstance(refused_quickly(regexes), NoderangeTooLargeError)


def test_a_text_of_a_million_commas_is_refused_quickly():
    assert isinstance(refused_quickly("a," * 500_000 + "a"), NoderangeTooLargeError)


def test_a_text_longer_than_the_limit_is_refused_unparsed():
    error = refused_quickly("a" * (MAX_TEXT_CHARS + 1))
    assert isinstance(error, NoderangeTooLargeError)
    assert "characters long" in error.message


def test_file_lines_count_towards_the_total(tmp_path: Path):
    (tmp_path / "list").write_text("a[1-60000]\nb[1-60000]\n")
    too_large(f"^{tmp_path}/list", allow_files=True)


def test_a_file_larger_than_the_limit_is_refused_unread(tmp_path: Path):
    (tmp_path / "big").write_bytes(b"node01\n" * (MAX_FILE_BYTES // 7 + 1))
    with pytest.raises(NoderangeError, match="larger than"):
        nr(f"^{tmp_path}/big", allow_files=True)


def test_the_limit_is_a_parameter():
    assert nr("node01-node05", max_names=5) == PADDED[:5]
    with pytest.raises(NoderangeTooLargeError):
        nr("node01-node06", max_names=5)


def test_the_too_large_message_says_what_to_do():
    message = too_large("a[1-60000],b[1-60000]").message
    assert "'b[1-60000]'" in message and str(DEFAULT_MAX_NAMES) in message


def test_over_long_number_in_a_dash_range_is_a_clear_error():
    error = syntax_error("node1-99999999999999999999")
    assert "number too long" in error.message and "18 digits" in error.message


def test_over_long_number_in_a_bare_numeric_range_is_a_clear_error():
    assert "number too long" in syntax_error("1-99999999999999999999").message


def test_messages_quote_only_the_start_of_a_huge_atom():
    error = syntax_error("node" + "9" * 5000 + "-node" + "9" * 5001)
    assert len(error.message) < 300


def test_a_backtracking_regex_answers_at_once():
    # Python's re takes seconds here (2**26 paths); RE2 is linear in the name.
    names = ["a" * 26 + "!", *BIG]
    start = time.perf_counter()
    assert expand("/(a+)+", nodes=names, groups={}) == []
    assert expand("/(a|aa)+$", nodes=names, groups={}) == []
    assert time.perf_counter() - start < 0.5


def test_a_backtracking_selector_regex_answers_at_once():
    start = time.perf_counter()
    values = {name: "a" * 26 + "!" for name in NODES}
    found = expand(
        "comments=~^(a+)+$", nodes=NODES, groups={}, attrs=lambda n: {"comments": values[n]}
    )
    assert found == []
    assert time.perf_counter() - start < 0.5


def test_regex_backreferences_are_refused_with_the_reason():
    error = syntax_error(r"/(node)\1")
    assert "backreferences" in error.message


def test_regex_longer_than_the_limit_is_refused():
    error = syntax_error("/" + "a" * (MAX_PATTERN_CHARS + 1))
    assert "characters long" in error.message


def test_regex_with_huge_counted_repeats_is_refused_not_compiled():
    start = time.perf_counter()
    syntax_error("/(?:a{65535}){65535}")
    assert time.perf_counter() - start < 0.5
