from .input_shapes import InputShapes
from .shape_grouped_batch_sampler import (
    ShapeGroupedBatchSampler,
    group_batches,
)

__all__ = ['InputShapes', 'ShapeGroupedBatchSampler', 'group_batches']
