"""Build an AE model from a config and run it on images."""

from contextlib import contextmanager
from pathlib import Path
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.model import is_model_wrapper
from mmengine.registry import DefaultScope
from mmengine.runner.checkpoint import (
    _load_checkpoint,
    _load_checkpoint_to_model,
)
from mmpose.apis import init_model as mmpose_init_model
from mmpose.structures import PoseDataSample

from aeplugin.datasets.samplers import group_batches
from aeplugin.engine.checkpoint import (
    check_checkpoint_complete,
    check_checkpoint_matches,
)

from .image_inputs import ImageType, check_image, read_bgr


def init_model(
    config: Union[str, Path, Config],
    checkpoint: Optional[str] = None,
    device: Optional[str] = None,
    cfg_options: Optional[dict] = None,
) -> nn.Module:
    """Build a pose estimator from a config and load a checkpoint.

    mmpose's ``init_model`` builds our configs as they are (it enters the
    config's ``default_scope``, ``aeplugin``); this wrapper picks the
    device when none is given and refuses a checkpoint or dataset that does
    not fit the model, where mmpose's only warns (``strict=False``) and
    goes on with random weights in place of the mismatched ones. To test
    with flip, multi-scale or refine switched, pass a :class:`Config` after
    :func:`aeplugin.apis.apply_test_time_options`.

    Args:
        config (str | Path | Config): Config file or object
        checkpoint (str, optional): A runner checkpoint or a bare state
            dict; ``None`` keeps the initial weights. Defaults to ``None``
        device (str, optional): ``'cpu'``, ``'cuda:0'``, ...; ``None``
            means ``'cuda:0'`` when CUDA is available, else ``'cpu'``
        cfg_options (dict, optional): Overrides merged into the config

    Returns:
        nn.Module: The model in eval mode, with ``cfg`` and
        ``dataset_meta`` attributes (the checkpoint's ``meta.dataset_meta``
        when it has one, as in mmpose, else the config's train dataset's)

    Raises:
        ValueError: The checkpoint file does not exist, is empty or cut
            short; its weights do not fit the model (missing, unexpected or
            of another shape: a checkpoint of another architecture or
            dataset); or the dataset has another number of keypoints than
            the head's ``num_keypoints``
    """
    if device is None:
        device = 'cuda:0' if torch.cuda.is_available() else 'cpu'
    if isinstance(config, (str, Path)):
        config = Config.fromfile(config)
    elif not isinstance(config, Config):
        raise TypeError(
            f'config must be a file path or a Config, got {type(config)}'
        )
    source = config.filename or 'the config'
    if checkpoint is not None:
        # before the model is built: a wrong path fails at once
        check_checkpoint_complete(str(checkpoint))
    model = mmpose_init_model(
        config, None, device=device, cfg_options=cfg_options
    )
    if checkpoint is not None:
        loaded = _load_checkpoint(str(checkpoint), map_location='cpu')
        check_checkpoint_matches(model, loaded, str(checkpoint))
        _load_checkpoint_to_model(model, loaded)
        dataset_meta = (loaded.get('meta') or {}).get('dataset_meta')
        if dataset_meta is not None:
            model.dataset_meta = dataset_meta
            source = str(checkpoint)
    check_keypoint_count(model, model.dataset_meta, source)
    return model


def check_keypoint_count(
    model: nn.Module, dataset_meta: dict, source: str
) -> None:
    """Raise ``ValueError`` when the dataset has another number of
    keypoints than the model's head predicts.

    Such a model decodes, draws and evaluates keypoints under the wrong
    names and skeleton, or fails deep inside the metric.

    Args:
        model (nn.Module): A pose estimator with a ``head`` (a wrapper's
            module is used)
        dataset_meta (dict): Dataset metainfo with ``num_keypoints``;
            without it nothing is checked
        source (str): Where ``dataset_meta`` came from (a config or
            checkpoint file), for the message

    Raises:
        ValueError: ``num_keypoints`` of the dataset and the head differ,
            or the decoder's ``decode_keypoint_order`` is not a permutation
            of the head's keypoints
    """
    if is_model_wrapper(model):
        model = model.module
    dataset_keypoints = dataset_meta.get('num_keypoints')
    head = model.head
    head_keypoints = head.num_keypoints
    if dataset_keypoints is not None and dataset_keypoints != head_keypoints:
        raise ValueError(
            f'{source}: the dataset {dataset_meta.get("dataset_name")!r} '
            f'has {dataset_keypoints} keypoints but the model head predicts '
            f'{head_keypoints} (num_keypoints): a config or checkpoint of '
            'another dataset?'
        )
    order = getattr(
        getattr(head, 'decoder', None), 'decode_keypoint_order', []
    )
    if len(order) and sorted(order) != list(range(head_keypoints)):
        raise ValueError(
            f'{source}: model.head.decoder.decode_keypoint_order must be a '
            f"permutation of 0..{head_keypoints - 1} (the head's "
            f'num_keypoints), got {list(order)}'
        )


def sample_keypoint_tags(
    tag_maps: Union[np.ndarray, torch.Tensor], keypoints: np.ndarray
) -> np.ndarray:
    """Read each keypoint's tag vector at its nearest tag map pixel.

    Note:
        - instance number: N
        - keypoint number: K
        - tag dimension: L (all scales and flips)
        - map size: [W, H]

    Args:
        tag_maps (np.ndarray | Tensor): Tag maps in shape (L*K, H, W),
            channel ``l*K + k`` holding dimension l of keypoint k
        keypoints (np.ndarray): Keypoint coordinates in map pixels in shape
            (N, K, 2); coordinates outside the map read its border

    Returns:
        np.ndarray: The tags in shape (N, K, L), float32
    """
    if isinstance(tag_maps, torch.Tensor):
        tag_maps = tag_maps.detach().cpu().numpy()
    keypoints = np.asarray(keypoints)
    if tag_maps.ndim != 3:
        raise ValueError(
            f'tag_maps must have shape (L*K, H, W), got {tag_maps.shape}'
        )
    if keypoints.ndim != 3 or keypoints.shape[2] != 2:
        raise ValueError(
            f'keypoints must have shape (N, K, 2), got {keypoints.shape}'
        )
    C, H, W = tag_maps.shape
    N, K = keypoints.shape[:2]
    if K == 0 or C % K:
        raise ValueError(
            f'tag_maps has {C} channels, not a multiple of K={K} keypoints'
        )
    xs = np.clip(np.rint(keypoints[..., 0]), 0, W - 1).astype(np.int64)
    ys = np.clip(np.rint(keypoints[..., 1]), 0, H - 1).astype(np.int64)
    maps = tag_maps.reshape(C // K, K, H, W)
    tags = maps[:, np.arange(K)[None, :], ys, xs]
    return np.ascontiguousarray(tags.transpose(1, 2, 0), dtype=np.float32)


def _attach_keypoint_tags(sample: PoseDataSample, decoder) -> None:
    """Add ``pred_instances.keypoint_tags`` (N, K, L), read from
    ``pred_fields.tags`` where the decoder placed each keypoint."""
    instances = sample.pred_instances
    keypoints = np.asarray(instances.keypoints, dtype=np.float64)
    meta = sample.metainfo
    size = np.asarray(meta['input_size'], dtype=np.float64)
    center = np.asarray(meta['input_center'], dtype=np.float64)
    scale = np.asarray(meta['input_scale'], dtype=np.float64)
    # undo BottomupPoseEstimator's input-to-image mapping, then the codec's
    # map-to-input one (decode adds the centre shift after locating peaks)
    in_input = (keypoints - center + 0.5 * scale) / scale * size
    in_maps = in_input / decoder.scale_factor - decoder.decode_center_shift
    tags = sample_keypoint_tags(sample.pred_fields.tags, in_maps)
    if not getattr(decoder, 'refine', False):
        # without refine a keypoint the decoder did not find has score 0
        # (found ones are above decode_keypoint_thr) and sits at (0, 0)
        tags[np.asarray(instances.keypoint_scores) <= 0] = np.nan
    instances.keypoint_tags = tags


@contextmanager
def _output_maps(model: nn.Module):
    """Let the head return its heatmaps and tag maps for the duration."""
    test_cfg = model.test_cfg
    previous = test_cfg.get('output_heatmaps', None)
    test_cfg['output_heatmaps'] = True
    try:
        yield previous is True
    finally:
        if previous is None:
            del test_cfg['output_heatmaps']
        else:
            test_cfg['output_heatmaps'] = previous


def _input_shape(inputs) -> tuple:
    if isinstance(inputs, torch.Tensor):
        return (tuple(inputs.shape),)
    return tuple(tuple(x.shape) for x in inputs)


def inference_bottomup(
    model: nn.Module,
    images: Union[ImageType, Sequence[ImageType]],
    batch_size: Optional[int] = None,
) -> Union[PoseDataSample, List[PoseDataSample]]:
    """Detect and group the people of one image or a list of images.

    Runs the config's test pipeline and ``model.test_step`` with the
    config's test-time options (flip, multi-scale, refine). Differences
    from mmpose's ``inference_bottomup``: it takes a list of images, run in
    batches of images of one input shape (padding images to a common
    shape would change the outputs, so any ``batch_size`` gives the
    predictions of batch 1), and it returns each
    keypoint's tag, read from the head's tag maps at the decoded location,
    since the decoder returns keypoints, not tags.

    Note:
        - instance number: N
        - keypoint number: K
        - tag dimension: L = L_net * F * S for the network's tag dimension
          L_net, F = 2 with flip test (else 1) and S scales

    Args:
        model (nn.Module): A model from :func:`init_model`
        images (str | Path | np.ndarray | Sequence): An image file, an
            image array, or a list of them. Files of any format OpenCV reads
            are decoded to BGR as mmpose's ``LoadImage`` does by default;
            arrays are BGR (H, W, 3) (as ``cv2.imread`` returns), BGRA
            (H, W, 4) (alpha dropped) or grayscale (H, W) or (H, W, 1)
            (see :func:`aeplugin.apis.image_inputs.load_image`)
        batch_size (int, optional): The most images per batch; ``None``
            runs all images of one input shape as one batch (the images
            are kept in memory until their batch runs: bound it for long
            lists)

    Returns:
        PoseDataSample | List[PoseDataSample]: One sample per image (a list
        for a list input) whose ``pred_instances`` hold, in original image
        pixels:

        - ``keypoints`` (N, K, 2)
        - ``keypoint_scores`` (N, K): heatmap values; 0 for a keypoint the
          decoder did not find (only without ``refine``)
        - ``keypoint_tags`` (N, K, L): the tag vector of each keypoint,
          dimension order scale (scale 1 first, then the other scales as
          configured), flip (original, then flipped), network tag
          dimension; NaN for a keypoint the decoder did not find (only
          without ``refine``)
        - ``bbox_scores`` (N, ): the people's scores, highest first

        ``pred_fields`` (heatmaps and tag maps) is kept only when the
        config's ``test_cfg.output_heatmaps`` is True.

    Raises:
        FileNotFoundError: An image file does not exist
        ValueError: An image file is a directory, empty, cut short, not an
            image or corrupt, or an array has another shape or no pixels
            (the message names the file or ``images[i]``); all inputs but
            corrupt files are checked before the model runs
        TypeError: An input is neither a path nor an array
    """
    if batch_size is not None and (
        not isinstance(batch_size, int)
        or isinstance(batch_size, bool)
        or batch_size < 1
    ):
        raise ValueError(f'batch_size must be an int >= 1, got {batch_size}')
    single = isinstance(images, (str, Path, np.ndarray))
    images = [images] if single else list(images)
    # every input before the first batch runs: a bad file at the end of a
    # long list fails at once
    for i, image in enumerate(images):
        check_image(image, f'images[{i}]')

    with DefaultScope.overwrite_default_scope(
        model.cfg.get('default_scope', 'mmpose')
    ):
        pipeline = Compose(model.cfg.test_dataloader.dataset.pipeline)

    def shaped_samples():
        for i, image in enumerate(images):
            info = dict(img=read_bgr(image))
            if not isinstance(image, np.ndarray):
                info['img_path'] = str(image)
            info.update(model.dataset_meta)
            sample = pipeline(info)
            yield _input_shape(sample['inputs']), (i, sample)

    # one input shape per batch: padding to a common shape would change
    # the outputs of a network that sees the whole image
    results = [None] * len(images)
    with _output_maps(model) as keep_maps, torch.no_grad():
        for batch in group_batches(shaped_samples(), batch_size):
            indices, samples = zip(*batch)
            outputs = model.test_step(pseudo_collate(list(samples)))
            for i, output in zip(indices, outputs):
                _attach_keypoint_tags(output, model.head.decoder)
                if not keep_maps:
                    del output.pred_fields
                results[i] = output
    return results[0] if single else results
