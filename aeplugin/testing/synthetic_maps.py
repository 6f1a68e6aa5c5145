"""Synthetic Associative Embedding network outputs for tests and benchmarks.

:func:`render_ae_maps` draws the heatmaps and tag maps a perfect AE network
would predict for given people, optionally degraded by :class:`MapNoise` in
the ways real predictions are: localization error, weak or missing
keypoints, false peaks, noisy tags and heatmap noise.
"""

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

# Tags are drawn where the owning Gaussian is above its 3-sigma value, the
# support of a heatmap peak the tag loss is trained on.
_TAG_SUPPORT = float(np.exp(-4.5))


@dataclass(frozen=True)
class MapNoise:
    """Imperfections applied by :func:`render_ae_maps`.

    Args:
        drop_prob (float): Probability that a keypoint gets no peak at all.
            Defaults to 0.1
        weaken_prob (float): Probability that a keypoint's peak height is
            drawn from ``weaken_range`` instead of ``height_range``.
            Defaults to 0.15
        weaken_range (Tuple[float, float]): Heights of weakened peaks, mostly
            below a usual keypoint threshold of 0.1. Defaults to (0.02, 0.2)
        height_range (Tuple[float, float]): Heights of other peaks (times
            the given keypoint scores). Defaults to (0.5, 1.0)
        jitter_std (float): Std of the peak displacement in heatmap pixels.
            Defaults to 0.5
        false_peaks (int): Number of false peaks per keypoint type.
            Defaults to 2
        false_peak_range (Tuple[float, float]): Heights of false peaks.
            Defaults to (0.1, 0.5)
        keypoint_tag_std (float): Std of the offset of a keypoint's tag from
            its person's tag. Defaults to 0.1
        pixel_tag_std (float): Std of independent per-pixel tag noise.
            Defaults to 0.05
        heatmap_std (float): Std of independent per-pixel heatmap noise.
            Defaults to 0.01
    """

    drop_prob: float = 0.1
    weaken_prob: float = 0.15
    weaken_range: Tuple[float, float] = (0.02, 0.2)
    height_range: Tuple[float, float] = (0.5, 1.0)
    jitter_std: float = 0.5
    false_peaks: int = 2
    false_peak_range: Tuple[float, float] = (0.1, 0.5)
    keypoint_tag_std: float = 0.1
    pixel_tag_std: float = 0.05
    heatmap_std: float = 0.01


def render_ae_maps(
    keypoints: np.ndarray,
    heatmap_size: Tuple[int, int],
    keypoints_visible: Optional[np.ndarray] = None,
    sigma: float = 2.0,
    person_tags: Optional[np.ndarray] = None,
    tag_dim: int = 1,
    tag_spacing: float = 2.0,
    background_tag: float = 0.0,
    keypoint_scores: Optional[np.ndarray] = None,
    noise: Optional[MapNoise] = None,
    seed: int = 0,
) -> Tuple[np.ndarray, np.ndarray]:
    """Render the AE heatmaps and tag maps of ground-truth people.

    Each keypoint becomes a Gaussian peak of height ``keypoint_scores``
    centred on its sub-pixel location (the heatmap is the maximum over
    people); each tag map holds, around each peak, the tag of the person
    owning the highest Gaussian there and ``background_tag`` elsewhere.
    Without ``noise`` the maps are what a perfect network predicts.

    Note:

        - instance number: N
        - keypoint number: K
        - embedding tag dimension: L
        - heatmap size: [W, H]

    Args:
        keypoints (np.ndarray): Keypoint coordinates in the heatmap space in
            shape (N, K, 2)
        heatmap_size (Tuple[int, int]): Heatmap size in [W, H]
        keypoints_visible (np.ndarray, optional): Keypoints with a value
            above 0 are drawn, in shape (N, K); ``None`` draws all
        sigma (float): The Gaussian sigma in heatmap pixels. Defaults to 2.0
        person_tags (np.ndarray, optional): Each person's tag in shape
            (N, L); ``None`` gives person n the tag ``(n+1) * tag_spacing``
            in every dimension
        tag_dim (int): The tag dimension L when ``person_tags`` is ``None``.
            Defaults to 1
        tag_spacing (float): The gap between default person tags.
            Defaults to 2.0
        background_tag (float): The tag away from any peak. Defaults to 0.0
        keypoint_scores (np.ndarray, optional): Peak heights in shape
            (N, K); ``None`` means 1
        noise (MapNoise, optional): The imperfections to apply; ``None``
            renders perfect maps
        seed (int): Seed of the noise generator. Defaults to 0

    Returns:
        tuple:
        - heatmaps (np.ndarray): The heatmaps in shape (K, H, W), float32
        - tags (np.ndarray): The tag maps in shape (K*L, H, W), float32,
            channel ``l*K + k`` holding dimension l of keypoint k
    """
    keypoints = np.asarray(keypoints, dtype=np.float64)
    if keypoints.ndim != 3 or keypoints.shape[2] != 2:
        raise ValueError(
            f'keypoints must have shape (N, K, 2), got {keypoints.shape}'
        )
    N, K = keypoints.shape[:2]
    W, H = heatmap_size
    visible = (
        np.ones((N, K), dtype=bool)
        if keypoints_visible is None
        else np.asarray(keypoints_visible) > 0
    )
    if visible.shape != (N, K):
        raise ValueError(
            f'keypoints_visible must have shape {(N, K)}, got {visible.shape}'
        )
    if person_tags is None:
        person_tags = np.repeat(
            (np.arange(N, dtype=np.float64)[:, None] + 1) * tag_spacing,
            tag_dim,
            axis=1,
        )
    person_tags = np.asarray(person_tags, dtype=np.float64)
    if person_tags.ndim != 2 or person_tags.shape[0] != N:
        raise ValueError(
            f'person_tags must have shape (N={N}, L), got {person_tags.shape}'
        )
    L = person_tags.shape[1]
    heights = (
        np.ones((N, K))
        if keypoint_scores is None
        else np.asarray(keypoint_scores, dtype=np.float64)
    )
    if heights.shape != (N, K):
        raise ValueError(
            f'keypoint_scores must have shape {(N, K)}, got {heights.shape}'
        )

    rng = np.random.default_rng(seed)
    centers = keypoints.copy()
    keypoint_tags = np.broadcast_to(person_tags[:, None], (N, K, L)).copy()
    if noise is not None:
        visible = visible & (rng.random((N, K)) >= noise.drop_prob)
        weakened = rng.random((N, K)) < noise.weaken_prob
        heights = heights * np.where(
            weakened,
            rng.uniform(*noise.weaken_range, (N, K)),
            rng.uniform(*noise.height_range, (N, K)),
        )
        centers += rng.normal(0, noise.jitter_std, (N, K, 2))
        keypoint_tags += rng.normal(0, noise.keypoint_tag_std, (N, K, L))
        num_false = noise.false_peaks
        false_centers = rng.uniform((0, 0), (W - 1, H - 1), (K, num_false, 2))
        false_heights = rng.uniform(*noise.false_peak_range, (K, num_false))
        tag_low = min(person_tags.min(initial=0), background_tag) - tag_spacing
        tag_high = (
            max(person_tags.max(initial=0), background_tag) + tag_spacing
        )
        false_tags = rng.uniform(tag_low, tag_high, (K, num_false, L))
    else:
        num_false = 0

    xs = np.arange(W, dtype=np.float64)[None, None, :]
    ys = np.arange(H, dtype=np.float64)[None, :, None]
    heatmaps = np.zeros((K, H, W))
    tags = np.full((L, K, H, W), background_tag, dtype=np.float64)
    for k in range(K):
        peak_centers = centers[visible[:, k], k]
        peak_heights = heights[visible[:, k], k]
        peak_tags = keypoint_tags[visible[:, k], k]
        if num_false:
            peak_centers = np.concatenate([peak_centers, false_centers[k]])
            peak_heights = np.concatenate([peak_heights, false_heights[k]])
            peak_tags = np.concatenate([peak_tags, false_tags[k]])
        if not len(peak_centers):
            continue
        shapes = np.exp(
            -(
                (xs - peak_centers[:, 0, None, None]) ** 2
                + (ys - peak_centers[:, 1, None, None]) ** 2
            )
            / (2 * sigma**2)
        )
        peaks = shapes * peak_heights[:, None, None]
        owner = peaks.argmax(axis=0)
        heatmaps[k] = np.take_along_axis(peaks, owner[None], 0)[0]
        support = np.take_along_axis(shapes, owner[None], 0)[0] > _TAG_SUPPORT
        tags[:, k][:, support] = peak_tags[owner[support]].T

    if noise is not None:
        heatmaps += rng.normal(0, noise.heatmap_std, heatmaps.shape)
        tags += rng.normal(0, noise.pixel_tag_std, tags.shape)
    return (
        heatmaps.astype(np.float32),
        tags.reshape(L * K, H, W).astype(np.float32),
    )
