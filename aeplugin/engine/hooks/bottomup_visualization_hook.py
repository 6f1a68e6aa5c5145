"""Pictures of a test run's predictions: every interval-th image, drawn
with the runner's visualizer."""

import os.path as osp

import mmcv
import mmengine
from mmengine import fileio
from mmpose.engine.hooks import PoseVisualizationHook

from aeplugin.registry import HOOKS


@HOOKS.register_module()
class BottomupVisualizationHook(PoseVisualizationHook):
    """mmpose's ``PoseVisualizationHook`` with its test pictures as
    ``tools/test.py --show-dir DIR --interval N`` asks for them.

    In a test run, mmpose 1.3.2's hook draws every image whatever its
    ``interval``, joins ``work_dir/timestamp`` to ``out_dir`` again at every
    iteration (a relative work directory nests the pictures deeper at each
    batch) and names each picture ``NAME_i`` by counting the folder's files.
    This one draws the 1st, (1 + N)th, ... image of the test set, into
    ``work_dir/timestamp/out_dir`` (an absolute ``out_dir`` as it is) under
    the image's file name, with the skeletons of its predicted people (no
    ground truth, no boxes: a bottom-up model predicts none). Validation
    runs draw as mmpose's.

    Args:
        **kwargs: The arguments of mmpose's ``PoseVisualizationHook``:
            ``enable``, ``interval``, ``kpt_thr``, ``show``, ``wait_time``,
            ``out_dir``, ``backend_args``
    """

    def before_test(self, runner) -> None:
        self._test_index = 0
        self._picture_dir = None
        if self.enable and self.out_dir is not None:
            self._picture_dir = osp.join(
                runner.work_dir, runner.timestamp, self.out_dir
            )
            mmengine.mkdir_or_exist(self._picture_dir)

    def after_test_iter(self, runner, batch_idx, data_batch, outputs) -> None:
        if not self.enable:
            return
        self._visualizer.set_dataset_meta(runner.test_evaluator.dataset_meta)
        for data_sample in outputs:
            index = self._test_index
            self._test_index += 1
            if index % self.interval:
                continue
            img_path = data_sample.get('img_path')
            image = mmcv.imfrombytes(
                fileio.get(img_path, backend_args=self.backend_args),
                channel_order='rgb',
            )
            name = osp.basename(img_path)
            self._visualizer.add_datasample(
                name if self.show else 'test_img',
                image,
                data_sample=data_sample,
                draw_gt=False,
                draw_bbox=False,
                draw_heatmap=False,
                show=self.show,
                wait_time=self.wait_time,
                kpt_thr=self.kpt_thr,
                out_file=None
                if self._picture_dir is None
                else osp.join(self._picture_dir, name),
                step=index,
            )
