"""The official HigherHRNet network (``PoseHigherResolutionNet`` of
HRNet/HigherHRNet-Human-Pose-Estimation), rebuilt from its description with
its module names, for the converter's test: a stem of two stride-2 3x3
convs (``conv1``/``bn1``, ``conv2``/``bn2``), ``layer1`` of bottlenecks,
``transition{1,2,3}`` and ``stage{2,3,4}`` of high-resolution modules
(``branches``, ``fuse_layers``; the last module of stage 4 outputs the
highest resolution only), ``final_layers`` (two 1x1 convs) and
``deconv_layers`` (a 4x4 transposed conv of stride 2, BN and ReLU, then
basic blocks, each in its own ``Sequential``). Widths and depths are
arguments so that the test can run a small one.

Note:
    - batch size: B
    - keypoint number: K
    - input size: [W, H]
"""

from typing import List, Sequence

import torch
from torch import Tensor, nn


def _conv_bn(cin, cout, kernel, stride, relu):
    layers = [
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, bias=False),
        nn.BatchNorm2d(cout),
    ]
    return nn.Sequential(*layers, *([nn.ReLU()] if relu else []))


class Block(nn.Module):
    """A basic block (``expansion`` 1) or a bottleneck (4)."""

    def __init__(self, cin, planes, bottleneck, downsample=None):
        super().__init__()
        self.bottleneck = bottleneck
        if bottleneck:
            self.conv1 = nn.Conv2d(cin, planes, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
            self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(planes * 4)
        else:
            self.conv1 = nn.Conv2d(cin, planes, 3, 1, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(planes)
            self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        out = self.bn1(self.conv1(x)).relu()
        out = self.bn2(self.conv2(out))
        if self.bottleneck:
            out = self.bn3(self.conv3(out.relu()))
        skip = x if self.downsample is None else self.downsample(x)
        return (out + skip).relu()


def _blocks(cin, planes, count, bottleneck):
    cout = planes * (4 if bottleneck else 1)
    downsample = None
    if cin != cout:
        downsample = nn.Sequential(
            nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout)
        )
    blocks = [Block(cin, planes, bottleneck, downsample)]
    blocks += [Block(cout, planes, bottleneck) for _ in range(count - 1)]
    return nn.Sequential(*blocks)


class HRModule(nn.Module):
    def __init__(self, channels, num_blocks, all_outputs):
        super().__init__()
        n = len(channels)
        self.branches = nn.ModuleList(
            _blocks(c, c, num_blocks, False) for c in channels
        )
        self.fuse_layers = None
        if n > 1:
            rows = []
            for i in range(n if all_outputs else 1):
                row = []
                for j in range(n):
                    if j > i:
                        row.append(
                            nn.Sequential(
                                nn.Conv2d(
                                    channels[j], channels[i], 1, bias=False
                                ),
                                nn.BatchNorm2d(channels[i]),
                                nn.Upsample(scale_factor=2 ** (j - i)),
                            )
                        )
                    elif j == i:
                        row.append(None)
                    else:
                        steps = [
                            _conv_bn(channels[j], channels[j], 3, 2, True)
                            for _ in range(i - j - 1)
                        ]
                        steps.append(
                            _conv_bn(channels[j], channels[i], 3, 2, False)
                        )
                        row.append(nn.Sequential(*steps))
                rows.append(nn.ModuleList(row))
            self.fuse_layers = nn.ModuleList(rows)

    def forward(self, xs: List[Tensor]) -> List[Tensor]:
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        if self.fuse_layers is None:
            return xs
        return [
            sum(x if f is None else f(x) for f, x in zip(row, xs)).relu()
            for row in self.fuse_layers
        ]


class OfficialHigherHRNet(nn.Module):
    """Args: ``stem_planes`` (64 officially) and ``layer1_blocks`` (4),
    ``channels`` of stage 4 (e.g. (32, 64, 128, 256)), ``num_blocks`` per
    branch (4), ``num_modules`` of stages 2-4 ((1, 4, 3)),
    ``num_keypoints`` K, ``num_basic_blocks`` of the deconv stage (4)."""

    def __init__(
        self,
        channels: Sequence[int],
        stem_planes: int = 64,
        layer1_blocks: int = 4,
        num_blocks: int = 4,
        num_modules: Sequence[int] = (1, 4, 3),
        num_keypoints: int = 17,
        num_basic_blocks: int = 4,
    ):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 3, 2, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.conv2 = nn.Conv2d(64, 64, 3, 2, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(64)
        self.layer1 = _blocks(64, stem_planes, layer1_blocks, True)
        previous = [stem_planes * 4]
        for stage, modules in zip((2, 3, 4), num_modules):
            current = list(channels[:stage])
            transitions = []
            for i, c in enumerate(current):
                if i < len(previous):
                    transitions.append(
                        None
                        if previous[i] == c
                        else _conv_bn(previous[i], c, 3, 1, True)
                    )
                else:
                    transitions.append(
                        nn.Sequential(_conv_bn(previous[-1], c, 3, 2, True))
                    )
            setattr(self, f'transition{stage - 1}', nn.ModuleList(transitions))
            setattr(
                self,
                f'stage{stage}',
                nn.Sequential(
                    *[
                        HRModule(
                            current,
                            num_blocks,
                            stage < 4 or m < modules - 1,
                        )
                        for m in range(modules)
                    ]
                ),
            )
            previous = current
        K, c = num_keypoints, channels[0]
        self.final_layers = nn.ModuleList(
            [nn.Conv2d(c, 2 * K, 1), nn.Conv2d(c, K, 1)]
        )
        self.deconv_layers = nn.ModuleList(
            [
                nn.Sequential(
                    nn.Sequential(
                        nn.ConvTranspose2d(c + 2 * K, c, 4, 2, 1, bias=False),
                        nn.BatchNorm2d(c),
                        nn.ReLU(),
                    ),
                    *[
                        nn.Sequential(Block(c, c, False))
                        for _ in range(num_basic_blocks)
                    ],
                )
            ]
        )

    def forward(self, x: Tensor) -> List[Tensor]:
        """Images (B, 3, H, W) to ``[(B, 2K, H/4, W/4), (B, K, H/2, W/2)]``."""
        x = self.bn1(self.conv1(x)).relu()
        x = self.layer1(self.bn2(self.conv2(x)).relu())
        xs = [x]
        for stage in (2, 3, 4):
            transitions = getattr(self, f'transition{stage - 1}')
            xs = [
                (xs[i] if i < len(xs) else xs[-1])
                if t is None
                else t(xs[i] if i < len(xs) else xs[-1])
                for i, t in enumerate(transitions)
            ]
            xs = getattr(self, f'stage{stage}')(xs)
        low = self.final_layers[0](xs[0])
        high = self.deconv_layers[0](torch.cat([xs[0], low], 1))
        return [low, self.final_layers[1](high)]
