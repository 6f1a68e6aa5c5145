import numpy as np
import pytest
from matplotlib.figure import Figure

from aeplugin.visualization import plot_keypoint_tags

K = 17


def _offsets(fig, count):
    """The keypoint collections' offsets, one array per person."""
    return [
        np.asarray(c.get_offsets()) for c in fig.axes[0].collections[:count]
    ]


def test_1d_tags_are_a_strip_per_person(tmp_path):
    rng = np.random.default_rng(0)
    tags = np.arange(3)[:, None, None] * 2.0 + 0.1 * rng.normal(size=(3, K, 1))
    scores = np.ones((3, K))
    scores[1, :5] = 0.05  # not drawn
    tags[2, 3] = np.nan  # a missing keypoint
    fig = plot_keypoint_tags(tags, scores, out_file=tmp_path / 'a' / 't.png')
    assert isinstance(fig, Figure)
    assert (tmp_path / 'a' / 't.png').stat().st_size > 0

    strips = _offsets(fig, 3)
    drawn = [
        np.nonzero(scores[0] > 0.1)[0],
        np.arange(5, K),
        np.delete(np.arange(K), 3),
    ]
    for n, (strip, kept) in enumerate(zip(strips, drawn)):
        # y is the tag; x is the person, spread by keypoint type
        np.testing.assert_allclose(strip[:, 1], tags[n, kept, 0])
        assert np.all(np.abs(strip[:, 0] - n) < 0.35)
        assert len(np.unique(strip[:, 0])) == len(kept)
    assert fig.axes[0].get_title() == '3 people, 45 keypoints, 1-D tags'


def test_tags_of_more_dimensions_keep_their_distances_in_2d():
    """Tags lying in a plane of a 4-D space: the principal components are
    that plane, so distances between keypoints are kept exactly."""
    rng = np.random.default_rng(1)
    plane = np.linalg.qr(rng.normal(size=(4, 2)))[0].T  # (2, 4) orthonormal
    in_plane = rng.normal(size=(2, K, 2)) + np.array([[[0, 0]], [[5, 1]]])
    tags = in_plane @ plane + 3.0
    fig = plot_keypoint_tags(tags)
    people = _offsets(fig, 2)
    projected = np.concatenate(people)
    original = tags.reshape(-1, 4)

    def distances(x):
        return np.linalg.norm(x[:, None] - x[None], axis=-1)

    np.testing.assert_allclose(
        distances(projected), distances(original), atol=1e-9
    )
    assert [len(p) for p in people] == [K, K]
    assert 'principal component 1 (' in fig.axes[0].get_xlabel()


def test_nobody_and_one_keypoint_still_plot():
    plot_keypoint_tags(np.zeros((0, K, 2)))
    one = np.full((1, K, 2), np.nan)
    one[0, 0] = [1.0, 2.0]
    fig = plot_keypoint_tags(one)
    np.testing.assert_allclose(_offsets(fig, 1)[0], [[0.0, 0.0]])


def test_bad_shapes_are_errors():
    with pytest.raises(ValueError, match=r'\(N, K, L\)'):
        plot_keypoint_tags(np.zeros((2, K)))
    with pytest.raises(ValueError, match=r'keypoint_scores must have shape'):
        plot_keypoint_tags(np.zeros((2, K, 1)), np.zeros((2, 3)))
