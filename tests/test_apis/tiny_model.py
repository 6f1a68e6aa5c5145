"""A tiny AE model on the 4 real COCO test images, for fast end-to-end
tests of the API, the tools and the demos."""

from pathlib import Path

import torch

ROOT = Path(__file__).parents[2]
COCO = ROOT / 'tests' / 'data' / 'coco'
IMAGES = sorted(str(p) for p in COCO.glob('*.jpg'))
K = 17

# The paper config, shrunk: one stack of 16 features at a 128 input; flip
# test and heatmaps restored to the input size as in the paper config; at
# most 3 people per image keep the grouping of random maps quick.
TINY_CONFIG = """
_base_ = ['{root}/configs/ae_hourglass-4stack_8xb6-300e_coco-512x512.py']
codec = dict(_base_.codec, input_size=(128, 128), heatmap_size=(32, 32))
val_pipeline = [
    dict(_base_.val_pipeline[0]),
    dict(_base_.val_pipeline[1], input_size=codec['input_size']),
    *_base_.val_pipeline[2:],
]
model = dict(
    backbone=dict(
        num_stacks=1, feat_channels=16, increase=8, stem_channels=(8, 16)
    ),
    head=dict(
        decoder=dict(
            codec, heatmap_size=codec['input_size'], decode_max_instances=3
        )
    ),
)
"""

# The 4 test images as the test set, read in the main process.
TEST_DATA = """
test_dataloader = dict(
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root='{coco}/',
        ann_file='test_coco.json',
        data_prefix=dict(img=''),
        pipeline=val_pipeline,
    ),
)
test_evaluator = dict(ann_file='{coco}/test_coco.json')
"""


def write_tiny_config(folder: Path) -> Path:
    """Write the tiny config into ``folder`` and return its path."""
    path = Path(folder) / 'ae_tiny_test.py'
    path.write_text((TINY_CONFIG + TEST_DATA).format(root=ROOT, coco=COCO))
    return path


def random_tiny_model(config, seed: int = 0, **init_kwargs):
    """The tiny model with PyTorch's default initialisation: unlike the
    config's near-zero init, its heatmaps have peaks, so people are found
    (at random places)."""
    from aeplugin.apis import init_model

    model = init_model(config, None, device='cpu', **init_kwargs)
    torch.manual_seed(seed)
    for module in model.modules():
        if module is not model and hasattr(module, 'reset_parameters'):
            module.reset_parameters()
    return model.eval()


def save_random_checkpoint(config, path: Path, seed: int = 0) -> Path:
    """Save the state dict of :func:`random_tiny_model` to ``path``."""
    model = random_tiny_model(config, seed=seed)
    torch.save({'state_dict': model.state_dict()}, path)
    return Path(path)
