"""Real COCO data and dataset builders shared by the dataset tests."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
COCO_TEST_ROOT = REPO_ROOT / 'tests' / 'data' / 'coco'
COCO_MINI_ROOT = REPO_ROOT / 'data' / 'coco-mini'

# COCO's left/right keypoint pairs, written out by hand
COCO_FLIP_INDICES = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]

# An image of data/coco-mini with a large crowd region stored as RLE
CROWD_IMAGE_ID = 370162


def codec_cfg(input_size=(512, 512), heatmap_size=(128, 128)) -> dict:
    return dict(
        type='BottomupGrouping',
        input_size=input_size,
        heatmap_size=heatmap_size,
        sigma=2,
    )


def affine_pipeline() -> list:
    """Load and a random (seeded by the caller) affine: what the flip and
    the target generation receive."""
    return [
        dict(type='LoadImage'),
        dict(
            type='BottomupRandomAffine',
            input_size=(512, 512),
            distribution='uniform',
            clip_border=True,
        ),
    ]


def encoding_pipeline() -> list:
    """The AE targets and the ignore mask, after the affine (and flip)."""
    return [
        dict(type='GenerateTarget', encoder=codec_cfg()),
        dict(type='BottomupCrowdMask'),
    ]


def targets_pipeline() -> list:
    """Load, a random (seeded by the caller) affine, the AE targets and the
    ignore mask: what the transforms after the targets receive."""
    return affine_pipeline() + encoding_pipeline()


def _build_coco(
    data_root: Path, ann_file: str, img_dir: str, pipeline, test_mode: bool
):
    from aeplugin.registry import DATASETS

    return DATASETS.build(
        dict(
            type='CocoDataset',
            data_root=str(data_root),
            data_mode='bottomup',
            ann_file=ann_file,
            data_prefix=dict(img=img_dir),
            pipeline=pipeline,
            test_mode=test_mode,
        )
    )


def coco_test_dataset(pipeline, test_mode=False):
    """Bottom-up CocoDataset over tests/data/coco: 4 images holding 1, 3, 5
    and 5 people (two of them with a person without keypoints)."""
    return _build_coco(
        COCO_TEST_ROOT, 'test_coco.json', '', pipeline, test_mode
    )


def coco_mini_dataset(pipeline, test_mode=False):
    """Bottom-up CocoDataset over data/coco-mini: 28 images, 5 crowds."""
    return _build_coco(
        COCO_MINI_ROOT,
        'annotations/person_keypoints_train2017.json',
        'train2017/',
        pipeline,
        test_mode,
    )


def index_of(dataset, img_id: int) -> int:
    """Position of an image id in a bottom-up dataset."""
    for i in range(len(dataset)):
        if dataset.get_data_info(i)['img_id'] == img_id:
            return i
    raise KeyError(img_id)
