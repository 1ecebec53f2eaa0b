"""The spacelike rule on UTF-8 bytes, exactly as the paper defines it, on every kind of text."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from deletionlab.core.jobs import UserError
from deletionlab.spacebyte.patching import BOS, fixed_mask, global_mask, patch, spacelike, stats, to_bytes

# the bytes the paper calls *not* spacelike: ASCII letters, ASCII digits, UTF-8 continuation bytes
NOT_SPACELIKE = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") | set(range(0x80, 0xC0))


def starts(text: str) -> list[int]:
    return patch(text, t_global=1000).starts.tolist()


def test_spacelike_matches_the_paper_for_every_byte_value():
    b = np.arange(256, dtype=np.uint8)
    expected = np.array([v not in NOT_SPACELIKE for v in range(256)])
    assert (spacelike(b) == expected).all()
    assert (spacelike(torch.arange(256)).numpy() == expected).all()


def test_ascii_prose_runs_global_blocks_after_words():
    # BOS=0, "Hello"=1..5, ","=6, " "=7 (follows a spacelike byte: no block), "world"=8..12, "!"=13
    assert starts("Hello, world!") == [0, 6, 13]
    p = patch("Hello, world!")
    assert [bytes(p.data[a:b]) for a, b in p.segments()] == [b"\xffHello", b", world", b"!"]


def test_code_and_runs_of_spaces():
    # "x = f(y)" : x=1, ' '=2 G, '='=3, ' '=4, f=5, '('=6 G, y=7, ')'=8 G
    assert starts("x = f(y)") == [0, 2, 6, 8]
    assert starts("a    b") == [0, 2]  # only the first of four spaces


def test_accented_letters_start_a_patch_at_their_lead_byte():
    # "café au": c=1 a=2 f=3, é = C3 (4, spacelike lead byte) A9 (5, continuation), ' '=6, a=7 u=8
    assert to_bytes("café au").tolist() == [99, 97, 102, 0xC3, 0xA9, 32, 97, 117]
    assert starts("café au") == [0, 4, 6]


def test_cjk_every_character_is_a_patch_except_after_bos():
    # 漢 = E6 BC A2 (1..3), 字 = E5 AD 97 (4..6): the lead byte E6 follows BOS (spacelike) and is dropped
    assert starts("漢字") == [0, 4]
    assert starts("漢字かな") == [0, 4, 7, 10]


def test_emoji_and_continuation_bytes():
    # "a😀b": a=1, F0 9F 98 80 = 2..5, b=6; continuation bytes never start a patch
    assert starts("a😀b") == [0, 2]
    data = patch("a😀b😀").data
    mask = global_mask(data)
    assert not mask[(data >= 0x80) & (data < 0xC0)].any()
    assert starts("😀😀") == [0, 5]


def test_bos_is_always_a_global_position_even_after_a_space():
    x = np.array([32, BOS, 32, 65], dtype=np.uint8)  # a BOS that follows a space is still marked
    assert global_mask(x).tolist() == [True, True, False, False]


@given(st.binary(min_size=1, max_size=200))
@settings(max_examples=60, deadline=None)
def test_numpy_and_torch_agree_and_no_two_global_positions_are_adjacent_spacelike_pairs(raw):
    b = np.frombuffer(raw, dtype=np.uint8)
    m_np = global_mask(b)
    m_t = global_mask(torch.from_numpy(b.astype(np.int64))).numpy()
    assert (m_np == m_t).all()
    s = spacelike(b)
    for t in range(1, len(b)):
        if b[t] != BOS:
            assert m_np[t] == (s[t] and not s[t - 1])


def test_fixed_rule_every_p_bytes():
    assert np.flatnonzero(fixed_mask(13, 6)).tolist() == [0, 6, 12]
    p = patch("abcdefghijk", rule="fixed", patch_size=4)
    assert p.starts.tolist() == [0, 4, 8]


def test_statistics_and_bytes_past_t_global():
    # "a b c d e": spaces at 2, 4, 6, 8 -> global [0, 2, 4, 6, 8]; with T_global = 2 the third global
    # position (4) cuts: the bytes after it ("c d e" = positions 5..9) are not trained on
    p = patch("a b c d e", t_global=2)
    assert p.starts.tolist() == [0, 2, 4, 6, 8]
    assert p.cutoff == 4
    assert p.bytes_past == 5
    s = stats(p)
    assert s["bytes"] == 9 and s["patches"] == 5 and s["mean_patch"] == pytest.approx(9 / 5)
    assert s["fraction_past"] == pytest.approx(5 / 9)
    assert patch("a b c d e", t_global=5).bytes_past == 0


@pytest.mark.parametrize("text,message", [
    ("", "empty"),
    (b"abc\xff\xfe", "not valid UTF-8"),
    ("x" * 200_001, "the limit is 200,000 bytes"),
    ("bad \ud800 surrogate", "not valid Unicode"),
])
def test_bad_text_gets_one_sentence(text, message):
    with pytest.raises(UserError, match=message):
        patch(text)


def test_a_megabyte_paste_is_refused_quickly():
    import time

    t = time.perf_counter()
    with pytest.raises(UserError, match="limit"):
        patch("word " * 200_000)
    assert time.perf_counter() - t < 5  # generous bound: refusing must not process the text


@pytest.mark.parametrize("kw,message", [({"rule": "words"}, "rule"), ({"t_global": 0}, "T_global"),
                                        ({"rule": "fixed", "patch_size": 0}, "patch size P")])
def test_bad_settings(kw, message):
    with pytest.raises(UserError, match=message):
        patch("hello world", **kw)
