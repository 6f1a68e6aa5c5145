"""A tiny HigherHRNet on the 4 real COCO test images, for the API tests
(test-time augmentation, batched inference, ONNX)."""

from pathlib import Path

from .tiny_model import COCO, ROOT, TEST_DATA

# The w32-512 config, shrunk: HRNet branches of 8-64 channels, one block
# each, one deconvolution basic block, a 128 input; flip test and the maps
# resized to the input as in the paper config; at most 3 people per image.
TINY_HIGHER_CONFIG = """
_base_ = ['{root}/configs/ae_higherhrnet-w32_8xb12-300e_coco-512x512.py']
codec = dict(_base_.codec, input_size=(128, 128), heatmap_size=(32, 32))
val_pipeline = [
    dict(_base_.val_pipeline[0]),
    dict(_base_.val_pipeline[1], input_size=codec['input_size']),
    *_base_.val_pipeline[2:],
]
model = dict(
    backbone=dict(
        init_cfg=None,
        extra=dict(
            stage1=dict(num_blocks=(1,), num_channels=(8,)),
            stage2=dict(num_blocks=(1, 1), num_channels=(8, 16)),
            stage3=dict(
                num_modules=1, num_blocks=(1, 1, 1), num_channels=(8, 16, 32)
            ),
            stage4=dict(
                num_modules=1,
                num_blocks=(1, 1, 1, 1),
                num_channels=(8, 16, 32, 64),
            ),
        ),
    ),
    head=dict(
        in_channels=8,
        num_basic_blocks=1,
        decoder=dict(
            codec,
            higher_heatmap_size=codec['input_size'],
            decode_max_instances=3,
        ),
    ),
)
"""


def write_tiny_higher_config(folder: Path) -> Path:
    """Write the tiny HigherHRNet config into ``folder``; return its path."""
    path = Path(folder) / 'higherhrnet_tiny_test.py'
    path.write_text(
        (TINY_HIGHER_CONFIG + TEST_DATA).format(root=ROOT, coco=COCO)
    )
    return path
