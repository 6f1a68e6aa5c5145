"""Batches of images of one input shape, for bottom-up evaluation."""

import math
from collections import Counter
from typing import (
    Dict,
    Hashable,
    Iterable,
    Iterator,
    List,
    Optional,
    Tuple,
    TypeVar,
)

from torch.utils.data import BatchSampler, Sampler

from aeplugin.registry import DATA_SAMPLERS

from .input_shapes import InputShapes

T = TypeVar('T')


def group_batches(
    items: Iterable[Tuple[Hashable, T]],
    batch_size: Optional[int],
    drop_last: bool = False,
) -> Iterator[List[T]]:
    """Group ``(key, item)`` pairs into batches of one key.

    A batch is yielded as soon as ``batch_size`` items of its key have
    come, so batches follow the order of the items as closely as grouping
    allows; the incomplete batches follow at the end, in the order of
    their first items.

    Args:
        items (Iterable): ``(key, item)`` pairs
        batch_size (int, optional): Items per batch; ``None`` for one batch
            per key
        drop_last (bool): Leave the incomplete batches out. Defaults to
            False

    Yields:
        List: The items of a batch, in their order
    """
    buckets: Dict[Hashable, List[T]] = {}
    for key, item in items:
        bucket = buckets.setdefault(key, [])
        bucket.append(item)
        if len(bucket) == batch_size:
            # deleted, so that the key's next bucket is ordered by its start
            del buckets[key]
            yield bucket
    if not drop_last:
        yield from buckets.values()


@DATA_SAMPLERS.register_module()
class ShapeGroupedBatchSampler(BatchSampler):
    """Batch only images that the test pipeline resizes to one shape.

    A bottom-up network sees the whole image, so padding the images of a
    batch to a common size (as mmengine's data preprocessor does) changes
    every output, and a flipped padded image puts the padding on the other
    side. This batch sampler groups the indices of its ``sampler`` (which
    picks and orders them, e.g. each rank's share under
    ``DefaultSampler(shuffle=False, round_up=False)``) by the input shape
    their images get, predicted from the image sizes and the pipeline's
    resize without loading pixels (:class:`InputShapes`), as detectron2
    groups images by aspect ratio. Each index comes out exactly once, and
    the batches at ``batch_size=1`` are the sampler's indices in order.

    Batches are yielded as they fill, so the predictions come in batch
    order, not in dataset order (``tools/test.py --dump`` puts them back in
    dataset order; COCO evaluation does not depend on the order).

    Config (mmengine passes ``sampler`` and the loader's ``batch_size``)::

        val_dataloader = dict(
            batch_size=4,
            sampler=dict(type='DefaultSampler', shuffle=False,
                         round_up=False),
            batch_sampler=dict(type='ShapeGroupedBatchSampler'),
            ...)

    Args:
        sampler (Sampler): Yields the dataset indices; its ``dataset``
            gives the data infos and the pipeline
        batch_size (int): The most images per batch
        drop_last (bool): Leave out each shape's incomplete batch. Defaults
            to False (evaluation needs every image)
    """

    def __init__(
        self, sampler: Sampler, batch_size: int, drop_last: bool = False
    ):
        super().__init__(sampler, batch_size, drop_last)
        if batch_size > 1 and (
            getattr(sampler, 'round_up', False)
            and getattr(sampler, 'world_size', 1) > 1
        ):
            # the gathered results are cut to the dataset's length after
            # interleaving the ranks; once batches reorder a rank's share,
            # the repeated images no longer come last and real ones get cut
            raise ValueError(
                'ShapeGroupedBatchSampler over several processes needs a '
                'sampler that does not repeat images to fill the ranks: set '
                'round_up=False in DefaultSampler'
            )
        self._input_shapes: Optional[InputShapes] = None
        self._keys: Dict[int, Hashable] = {}

    def _key(self, index: int) -> Hashable:
        key = self._keys.get(index)
        if key is None:
            if self._input_shapes is None:
                self._input_shapes = self._dataset_input_shapes()
            info = self.sampler.dataset.get_data_info(index)
            key = self._keys[index] = self._input_shapes(info)
        return key

    def _dataset_input_shapes(self) -> InputShapes:
        dataset = getattr(self.sampler, 'dataset', None)
        shapes = InputShapes.of_dataset(dataset)
        if shapes is None or not hasattr(dataset, 'get_data_info'):
            raise ValueError(
                'ShapeGroupedBatchSampler at batch_size > 1 needs a sampler '
                'whose `dataset` has a `pipeline` and `get_data_info`, got '
                f'the dataset {type(dataset).__name__} of the sampler '
                f'{type(self.sampler).__name__}'
            )
        return shapes

    def __iter__(self) -> Iterator[List[int]]:
        if self.batch_size == 1:
            return ([index] for index in self.sampler)
        keyed = ((self._key(index), index) for index in self.sampler)
        return group_batches(keyed, self.batch_size, self.drop_last)

    def __len__(self) -> int:
        if self.batch_size == 1:
            return len(self.sampler)
        counts = Counter(self._key(index) for index in self.sampler)
        rounding = math.floor if self.drop_last else math.ceil
        return sum(rounding(n / self.batch_size) for n in counts.values())
