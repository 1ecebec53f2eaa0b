"""The shapes world and its detector."""

import numpy as np
import pytest

from deletionlab.negprompt import detect, world


def test_captions_describe_the_rendered_scene():
    rng = np.random.default_rng(0)
    held = world.held_out_pairs()
    for _ in range(300):
        s = world.sample_scene(rng, exclude=held)
        assert s.caption not in held
        spec = world.parse_caption(s.caption)
        assert [(o.colour, o.shape) for o in s.objects] == spec
        assert len({o.colour for o in s.objects}) == len(s.objects)  # distinct colours
        for o, m in zip(s.objects, s.masks):
            assert m.any()
            assert np.all(s.image[m].astype(int) != 255)  # the mask covers coloured pixels only
        if len(s.objects) == 2:
            assert world.relation_of(*s.objects) == s.relation and f" {s.relation} " in s.caption
    assert (s.image.shape, s.image.dtype) == ((32, 32, 3), np.uint8)


def test_partial_captions_and_parsing():
    assert world.parse_caption("a square above a blue shape") == [(None, "square"), ("blue", None)]
    assert world.parse_caption("a red circle, a blue square and a green triangle") == [
        ("red", "circle"), ("blue", "square"), ("green", "triangle")]
    assert world.parse_caption("a purple dog") == []
    rng = np.random.default_rng(1)
    caps = [world.sample_scene(rng, p_partial=0.5).caption for _ in range(100)]
    assert any("shape" in c for c in caps) and any(any(c is None for c, _ in world.parse_caption(x)) for x in caps)
    assert world.describe("red", None) == "a red shape" and world.describe(None, "circle") == "a circle"
    with pytest.raises(ValueError):
        world.describe(None, None)


def test_held_out_captions_are_fixed_and_a_fraction():
    h1, h2 = world.held_out_pairs(), world.held_out_pairs()
    assert h1 == h2 and len(h1) == round(0.15 * len(world.two_object_captions()))


def test_detector_is_exact_on_ground_truth():
    rng = np.random.default_rng(7)
    scenes = [world.sample_scene(rng) for _ in range(400)]
    exact = 0
    for s in scenes:
        dets = detect.detect(s.image)
        ok = detect.caption_satisfied(s.image, s.caption) and len(dets) == len(s.objects)
        exact += ok
        if ok:  # the detected masks are the objects' masks (up to anti-aliased edges)
            for o, m in zip(s.objects, s.masks):
                d = detect.find(dets, o.colour, o.shape)
                iou = (d.mask & m).sum() / (d.mask | m).sum()
                assert iou >= 0.5
    assert exact / len(scenes) >= 0.98


def test_detector_on_blank_and_recoloured_images():
    assert detect.detect(np.full((32, 32, 3), 255, np.uint8)) == []
    s = world.scene_for_caption("a red circle left of a blue square", seed=3)
    img = s.image.copy()
    img[s.masks[1]] = 255  # erase the square
    assert detect.caption_satisfied(s.image, s.caption)
    assert not detect.caption_satisfied(img, s.caption)
    assert detect.present(img, "red", "circle") and not detect.present(img, "blue")


def test_relation_check_on_ground_truth():
    rng = np.random.default_rng(4)
    ok = 0
    for _ in range(100):
        s = world.sample_scene(rng, n_objects=2)
        ok += detect.relation_correct(s.image, s.caption)
        wrong = s.caption.replace(f" {s.relation} ", " above " if s.relation != "above" else " below ")
        assert not detect.relation_correct(s.image, wrong)
    assert ok >= 97


def test_relation_check_with_two_identical_objects():
    """Issue 18, item 6: "a red circle left of a red circle" crashed (an array's truth value)."""
    objs = [world.WorldObject("red", "circle", 8.0, 16.0, 5.0), world.WorldObject("red", "circle", 24.0, 16.0, 5.0)]
    image, _ = world.render(objs)
    assert detect.relation_correct(image, "a red circle left of a red circle")
    assert not detect.relation_correct(image, "a red circle above a red circle")
    one, _ = world.render(objs[:1])
    assert not detect.relation_correct(one, "a red circle left of a red circle")  # one blob cannot be both


def test_captions_with_words_outside_the_grammar_are_never_satisfied():
    """Issue 18, item 7: "…, no blue" is not a request for blue, "three red squares" not one square."""
    s = world.scene_for_caption("a red square left of a blue circle", seed=1)
    assert detect.caption_satisfied(s.image, "a red square left of a blue circle")
    assert world.words_not_understood("a red square, no blue") == ["no"]
    assert world.words_not_understood("three red squares") == ["three", "squares"]
    assert world.words_not_understood("a red circle left of a blue shape.") == []
    for caption in ("a red square, no blue", "three red squares", "a red square and 2 blue circles"):
        assert not detect.caption_satisfied(s.image, caption)
        notice = world.caption_notice(caption)
        assert notice is not None and "not judged" in notice and notice.count(". ") == 0
    assert world.caption_notice("a red square left of a blue circle") is None
