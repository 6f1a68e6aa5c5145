"""AE grouping loss, forward + backward: ours against mmpose's.

python tools/benchmark/loss.py [--batch-size 32] [--max-people 30]
    [--stacks 4] [--repeat 5] [--threads 1] [--out FILE]
"""

from aeplugin.benchmark.common import benchmark_parser, report, set_threads
from aeplugin.benchmark.loss import run_loss_benchmark


def parse_args():
    parser = benchmark_parser(__doc__, 'loss')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--max-people', type=int, default=30)
    parser.add_argument('--keypoints', type=int, default=17)
    parser.add_argument('--heatmap-size', type=int, default=128)
    parser.add_argument('--stacks', type=int, default=4)
    parser.add_argument('--repeat', type=int, default=5)
    parser.add_argument(
        '--mmpose-repeat',
        type=int,
        default=3,
        help="timed runs of mmpose's loss (seconds each)",
    )
    return parser.parse_args()


def main():
    args = parse_args()
    set_threads(args.threads)
    result = run_loss_benchmark(
        batch_size=args.batch_size,
        max_people=args.max_people,
        num_keypoints=args.keypoints,
        heatmap_size=args.heatmap_size,
        num_stacks=args.stacks,
        repeat=args.repeat,
        warmup=args.warmup,
        mmpose_repeat=args.mmpose_repeat,
    )
    values = result['values']
    report(
        result,
        args.out,
        f'B={args.batch_size}, {result["inputs"]["people"]} people '
        f'({result["inputs"]["people_per_image"][0]} to '
        f'{result["inputs"]["people_per_image"][1]} per image), '
        f'{args.stacks} stacks, K={args.keypoints}, '
        f'{args.heatmap_size}x{args.heatmap_size} tags; AELoss alone vs '
        'AssociativeEmbeddingLoss alone, forward + backward',
        f'ours {result["ours_ms"]:.1f} ms, mmpose {result["mmpose_ms"]:.1f} '
        f'ms: {result["speedup"]:.1f}x',
        f'values (stack 1): ours pull {values["ours"]["pull"]:.7f} push '
        f'{values["ours"]["push"]:.7f}; reference loop pull '
        f'{values["reference"]["pull"]:.7f} push '
        f'{values["reference"]["push"]:.7f}; largest difference '
        f'{values["max_abs_diff"]:.2e}',
    )


if __name__ == '__main__':
    main()
