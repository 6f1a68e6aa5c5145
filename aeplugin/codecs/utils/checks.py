"""Argument checks of the codec: each raises a ``ValueError`` (``TypeError``
for a wrong type) naming the argument, where a wrong value would otherwise
be used silently or fail far from its cause."""

import math
from typing import List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor


def check_size(name: str, value) -> Tuple[int, int]:
    """Check a size [w, h] of two positive ints and return it as a tuple."""
    if (
        not isinstance(value, (tuple, list))
        or len(value) != 2
        or not all(isinstance(v, (int, np.integer)) for v in value)
        or min(value) <= 0
    ):
        raise ValueError(
            f'{name} must be a pair of positive ints [w, h], got {value!r}'
        )
    return int(value[0]), int(value[1])


def check_odd_kernel(name: str, value) -> int:
    """Check a kernel size, a positive odd int."""
    if (
        not isinstance(value, (int, np.integer))
        or isinstance(value, bool)
        or value < 1
        or value % 2 == 0
    ):
        raise ValueError(f'{name} must be a positive odd int, got {value!r}')
    return int(value)


def check_positive_int(
    name: str, value, optional: bool = False
) -> Optional[int]:
    """Check a positive int (not a bool), or ``None`` with ``optional``."""
    if optional and value is None:
        return None
    if (
        not isinstance(value, (int, np.integer))
        or isinstance(value, bool)
        or value < 1
    ):
        raise ValueError(f'{name} must be a positive int, got {value!r}')
    return int(value)


def check_number(name: str, value, positive: bool = False) -> float:
    """Check a finite number (not a bool), above 0 with ``positive``, and
    return it as a float."""
    if (
        not isinstance(value, (int, float, np.integer, np.floating))
        or isinstance(value, bool)
        or not np.isfinite(value)
        or (positive and value <= 0)
    ):
        kind = 'a positive finite number' if positive else 'a finite number'
        raise ValueError(f'{name} must be {kind}, got {value!r}')
    return float(value)


def check_bool(name: str, value) -> bool:
    """Check a bool (a NumPy one included); ints are refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f'{name} must be a bool, got {value!r}')
    return bool(value)


def check_keypoint_order(name: str, value: Sequence[int]) -> List[int]:
    """Check that a keypoint order is empty or a permutation of range(K)."""
    order = list(value)
    if not all(isinstance(k, (int, np.integer)) for k in order) or (
        sorted(order) != list(range(len(order)))
    ):
        raise ValueError(
            f'{name} must be empty or a permutation of range(K), got {order!r}'
        )
    return [int(k) for k in order]


def check_image_maps(name: str, value) -> Tensor:
    """Check the maps of one image to decode and return them as a tensor.

    Note:

        - channel number: C
        - heatmap size: [W, H]

    Args:
        name (str): The argument name for the error message
        value (np.ndarray | Tensor): The maps in shape (C, H, W)

    Returns:
        Tensor: The maps in shape (C, H, W), sharing the array's memory
    """
    if isinstance(value, np.ndarray):
        value = torch.from_numpy(value)
    if not isinstance(value, Tensor) or value.dim() != 3:
        shape = getattr(value, 'shape', type(value).__name__)
        raise ValueError(
            f'{name} must be an array or tensor of '
            f'shape (C, H, W), got {shape}'
        )
    return value


def check_encode_inputs(
    keypoints: np.ndarray, keypoints_visible: Optional[np.ndarray]
) -> Tuple[np.ndarray, np.ndarray]:
    """Check the keypoints to encode.

    Note:

        - instance number: N
        - keypoint number: K

    Args:
        keypoints (np.ndarray): Numeric, finite keypoint coordinates in
            shape (N, K, 2)
        keypoints_visible (np.ndarray, optional): Keypoint visibilities in
            shape (N, K); ``None`` means all visible

    Returns:
        tuple:
        - keypoints (np.ndarray): ``keypoints`` in shape (N, K, 2)
        - keypoints_visible (np.ndarray): ``keypoints_visible``, ones
            (float32) for ``None``, in shape (N, K)
    """
    if keypoints.ndim != 3 or keypoints.shape[2] != 2:
        raise ValueError(
            f'keypoints must have shape (N, K, 2), got {keypoints.shape}'
        )
    if not np.issubdtype(keypoints.dtype, np.number):
        raise TypeError(
            f'keypoints must be numeric, got dtype {keypoints.dtype}'
        )
    if not np.isfinite(keypoints).all():
        raise ValueError('keypoints contains NaN or inf values')
    if keypoints_visible is None:
        keypoints_visible = np.ones(keypoints.shape[:2], dtype=np.float32)
    elif keypoints_visible.shape != keypoints.shape[:2]:
        raise ValueError(
            'keypoints_visible must have shape (N, K) = '
            f'{keypoints.shape[:2]}, got {keypoints_visible.shape}'
        )
    return keypoints, keypoints_visible


def check_decode_inputs(
    batch_heatmaps: Tensor, batch_tags: Tensor, keypoint_order: Sequence[int]
) -> int:
    """Check the maps to decode and return the tag dimension L.

    Note:

        - batch size: B
        - keypoint number: K
        - embedding tag dimension: L
        - heatmap size: [W, H]

    Args:
        batch_heatmaps (Tensor): Finite floating-point heatmaps in shape
            (B, K, H, W), none of B, K, H, W zero
        batch_tags (Tensor): Finite floating-point tag maps on the device
            of ``batch_heatmaps`` in shape (B, K*L, H, W)
        keypoint_order (Sequence[int]): The codec's grouping order, empty
            or of length K

    Returns:
        int: The tag dimension L
    """
    for name, value in (
        ('batch_heatmaps', batch_heatmaps),
        ('batch_tags', batch_tags),
    ):
        if not isinstance(value, Tensor):
            raise TypeError(
                f'{name} must be a torch.Tensor, got {type(value)}'
            )
        if value.dim() != 4:
            raise ValueError(
                f'{name} must have shape (B, C, H, W), '
                f'got {tuple(value.shape)}'
            )
        if not value.is_floating_point():
            raise TypeError(
                f'{name} must be floating point, got {value.dtype}'
            )
    B, K, H, W = batch_heatmaps.shape
    if min(B, K, H, W) == 0:
        raise ValueError(
            'batch_heatmaps must be non-empty, got shape '
            f'{tuple(batch_heatmaps.shape)}'
        )
    if (
        batch_tags.shape[0] != B
        or batch_tags.shape[2:] != (H, W)
        or batch_tags.device != batch_heatmaps.device
    ):
        raise ValueError(
            'batch_tags must be on the device of batch_heatmaps and of '
            f'shape (B={B}, K*L, H={H}, W={W}), got '
            f'{tuple(batch_tags.shape)} on {batch_tags.device} for '
            f'batch_heatmaps {tuple(batch_heatmaps.shape)} on '
            f'{batch_heatmaps.device}'
        )
    C = batch_tags.shape[1]
    if C == 0 or C % K:
        raise ValueError(
            f'batch_tags has {C} channels, which is not a positive '
            f'multiple of the K={K} keypoint types of batch_heatmaps'
        )
    if keypoint_order and len(keypoint_order) != K:
        raise ValueError(
            f'decode_keypoint_order has {len(keypoint_order)}'
            f' entries but batch_heatmaps has K={K} keypoint types'
        )
    # NaN and inf propagate into the sums, fast passes; only an
    # overflowing sum of finite values needs the full check.
    if not math.isfinite(
        float(batch_heatmaps.detach().sum() + batch_tags.detach().sum())
    ):
        for name, value in (
            ('batch_heatmaps', batch_heatmaps),
            ('batch_tags', batch_tags),
        ):
            if not bool(torch.isfinite(value).all()):
                raise ValueError(f'{name} contains NaN or inf values')
    return C // K
