"""NaN and infinite maps given to the head's decoding and to the codec:
refused with an error naming the maps (and, in the head, the images)
instead of decoded into NaN keypoints, which COCO evaluation would score
as matches."""

import pytest
import torch
from mmengine.registry import DefaultScope

from aeplugin.models.heads import AssociativeEmbeddingHead


def _head():
    with DefaultScope.overwrite_default_scope('aeplugin'):
        return AssociativeEmbeddingHead(
            in_channels=34,
            num_keypoints=17,
            final_layer=None,
            decoder=dict(
                type='BottomupGrouping',
                input_size=(64, 64),
                heatmap_size=(16, 16),
                sigma=2,
            ),
        )


@pytest.mark.parametrize(
    'maps, value, match',
    [
        (0, float('nan'), r'heatmaps \(3, 17, 16, 16\) hold NaN'),
        (1, float('inf'), r'tags \(3, 17, 16, 16\) hold NaN or infinite'),
    ],
)
def test_decode_names_the_maps_and_the_images(maps, value, match):
    head = _head()
    outputs = [torch.rand(3, 17, 16, 16), torch.rand(3, 17, 16, 16)]
    assert len(head.decode(tuple(outputs))) == 3
    outputs[maps][1, 4, 2, 2] = value
    outputs[maps][2, 0, 0, 0] = value
    with pytest.raises(ValueError, match=match + r'.* in images \[1, 2\]'):
        head.decode(tuple(outputs))


@pytest.mark.parametrize(
    'maps, value',
    [('batch_heatmaps', float('nan')), ('batch_tags', float('-inf'))],
)
def test_codec_refuses_nonfinite_maps_itself(maps, value):
    head = _head()
    outputs = dict(
        batch_heatmaps=torch.rand(1, 17, 16, 16),
        batch_tags=torch.rand(1, 17, 16, 16),
    )
    outputs[maps][0, 3, 5, 7] = value
    with pytest.raises(ValueError, match=f'{maps} contains NaN or inf'):
        head.decoder.batch_decode(**outputs)
