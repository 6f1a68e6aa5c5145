"""Loss and accuracy curves of a training run, read from mmengine's logs."""

import json
from pathlib import Path
from typing import Dict, List, Union

LOSS_TERMS = ('loss_kpt', 'loss_pull', 'loss_push')


def load_scalars(work_dir: Union[str, Path]) -> Dict[str, List[dict]]:
    """Collect the scalar records that ``LocalVisBackend`` wrote under a work
    directory, over every run in it (a resumed run continues the earlier
    ones; a later record of the same step replaces an earlier one).

    Args:
        work_dir (str | Path): The ``--work-dir`` of ``tools/train.py``

    Returns:
        dict: ``train`` records (with ``iter`` and the loss terms) sorted by
        iteration, and ``val`` records (with ``step`` = epoch and the
        metrics) sorted by epoch
    """
    files = sorted(Path(work_dir).glob('*/vis_data/scalars.json'))
    if not files:
        raise FileNotFoundError(
            f'no */vis_data/scalars.json under {work_dir}: is it the work '
            'directory of a training run?'
        )
    train, val = {}, {}
    for file in files:
        for number, line in enumerate(file.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f'{file}:{number}: not JSON ({e})') from e
            if 'loss' in record and 'iter' in record:
                train[record['iter']] = record
            elif 'step' in record:
                val[record['step']] = record
    return dict(
        train=[train[k] for k in sorted(train)],
        val=[val[k] for k in sorted(val)],
    )


def plot_training_curves(
    work_dir: Union[str, Path], out_file: Union[str, Path]
) -> Path:
    """Plot the heatmap, pull and push losses against the iteration and,
    where the run validated, COCO AP against the epoch, into one PNG.

    Args:
        work_dir (str | Path): The work directory of a training run
        out_file (str | Path): The PNG to write

    Returns:
        Path: ``out_file``
    """
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    scalars = load_scalars(work_dir)
    metrics = sorted(
        {k for r in scalars['val'] for k in r if k.endswith('/AP')}
    )
    panels = len(LOSS_TERMS) + bool(metrics)
    fig, axes = plt.subplots(1, panels, figsize=(4 * panels, 3.2))
    iters = [r['iter'] for r in scalars['train']]
    for ax, term in zip(axes, LOSS_TERMS):
        values = [r.get(term) for r in scalars['train']]
        ax.plot(iters, values, lw=1)
        ax.set_title(term)
        ax.set_xlabel('iteration')
        ax.set_yscale('log')
        ax.grid(alpha=0.3)
    if metrics:
        ax = axes[-1]
        epochs = [r['step'] for r in scalars['val']]
        for metric in metrics:
            ax.plot(
                epochs,
                [r.get(metric) for r in scalars['val']],
                'o-',
                label=metric,
            )
        ax.set_title('validation')
        ax.set_xlabel('epoch')
        ax.set_ylim(0, 1)
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle(Path(work_dir).name)
    fig.tight_layout()
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_file, dpi=100)
    plt.close(fig)
    return out_file
