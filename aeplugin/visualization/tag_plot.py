"""How well the embedding tags of one image separate its people."""

from pathlib import Path
from typing import Optional, Union

import numpy as np


def project_2d(points: np.ndarray) -> tuple:
    """The points' coordinates on their first two principal components.

    Note:
        - point number: M
        - dimension: L

    Args:
        points (np.ndarray): Points in shape (M, L)

    Returns:
        tuple: the coordinates (M, 2) (zero-padded when L < 2) and the
        fraction of the variance each of the two components holds (2, )
    """
    centred = points - points.mean(axis=0)
    _, singular, components = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ components[:2].T
    variance = singular**2
    total = variance.sum()
    fractions = variance[:2] / total if total > 0 else np.zeros(2)
    if coords.shape[1] < 2:
        coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
        fractions = np.pad(fractions, (0, 2 - fractions.size))
    return coords, fractions


def plot_keypoint_tags(
    keypoint_tags: np.ndarray,
    keypoint_scores: Optional[np.ndarray] = None,
    score_thr: float = 0.1,
    out_file: Optional[Union[str, Path]] = None,
    title: Optional[str] = None,
):
    """Plot each detected keypoint's tag against the person it was grouped
    into.

    With 1-D tags, a strip plot: one column per person, a dot per keypoint
    at its tag value, a bar at the person's mean tag; people separate well
    when the columns' value ranges do not overlap. With L > 1 (flip or
    multi-scale test), the tags are projected on their first two principal
    components, a colour per person and a cross at each person's mean.

    Note:
        - instance number: N
        - keypoint number: K
        - tag dimension: L

    Args:
        keypoint_tags (np.ndarray): Tags in shape (N, K, L), e.g.
            ``pred_instances.keypoint_tags`` of
            :func:`aeplugin.apis.inference_bottomup`
        keypoint_scores (np.ndarray, optional): Scores in shape (N, K);
            keypoints scoring at most ``score_thr`` are left out, as are
            keypoints with NaN tags. ``None`` keeps all
        score_thr (float): The score threshold. Defaults to 0.1
        out_file (str | Path, optional): Where to save the figure (PNG,
            ...); its folder is created. Defaults to ``None``
        title (str, optional): The figure title

    Returns:
        matplotlib.figure.Figure: The figure. Its axes' first collections
        are the keypoints, one per person with kept keypoints in person
        order: offsets (person + spread, tag) in the strip plot, the
        principal coordinates in the projection; the means follow
    """
    from matplotlib.figure import Figure

    tags = np.asarray(keypoint_tags, dtype=np.float64)
    if tags.ndim != 3:
        raise ValueError(
            f'keypoint_tags must have shape (N, K, L), got {tags.shape}'
        )
    N, K, L = tags.shape
    keep = ~np.isnan(tags).any(axis=-1)
    if keypoint_scores is not None:
        scores = np.asarray(keypoint_scores)
        if scores.shape != (N, K):
            raise ValueError(
                f'keypoint_scores must have shape ({N}, {K}), got '
                f'{scores.shape}'
            )
        keep &= scores > score_thr

    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    colours = [f'C{i % 10}' for i in range(N)]
    people = [n for n in range(N) if keep[n].any()]
    if L == 1:
        # keypoint types spread across the column so equal tags stay apart
        spread = (np.arange(K) - (K - 1) / 2) / max(K, 1) * 0.6
        coords = {
            n: np.stack([n + spread[keep[n]], tags[n, keep[n], 0]], axis=1)
            for n in people
        }
        ax.set_xlabel('person')
        ax.set_ylabel('tag')
        ax.set_xticks(people)
    else:
        points, owner = tags[keep], np.nonzero(keep)[0]
        projected, fractions = (
            project_2d(points) if len(points) else (points, np.zeros(2))
        )
        coords = {n: projected[owner == n] for n in people}
        ax.set_xlabel(f'principal component 1 ({fractions[0]:.0%})')
        ax.set_ylabel(f'principal component 2 ({fractions[1]:.0%})')
    for n in people:
        ax.scatter(coords[n][:, 0], coords[n][:, 1], s=14, c=colours[n])
    for n in people:
        if L == 1:
            mean = coords[n][:, 1].mean()
            ax.hlines(mean, n - 0.4, n + 0.4, colors=colours[n])
        else:
            centre = coords[n].mean(axis=0)
            ax.scatter(*centre, s=60, c=colours[n], marker='x')
            ax.annotate(
                str(n), centre, textcoords='offset points', xytext=(4, 4)
            )
    ax.grid(alpha=0.3)
    ax.set_title(
        title
        or f'{len(people)} people, {int(keep.sum())} keypoints, {L}-D tags'
    )
    fig.tight_layout()
    if out_file is not None:
        out_file = Path(out_file)
        out_file.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out_file, dpi=100)
    return fig
