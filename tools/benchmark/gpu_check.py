"""The checks a newly lent GPU must pass, in one command.

    python tools/benchmark/gpu_check.py [--device cuda|cpu] [--out FILE]

Prints one markdown table (check | result | numbers):

- ``cuda tests``: the tests that skip without CUDA (``reason='needs
  CUDA'``), run with pytest;
- ``main job``: the main-job config for 2 epochs (its deterministic mode
  raises nothing, the loss falls, validation decodes on the device);
- ``train step fp32 / bf16 / bf16 + compile``: the paper config's training
  step (``tools/benchmark/train_step.py``'s functions): images/s, host
  synchronisations per step (``torch.cuda.set_sync_debug_mode`` on CUDA),
  peak memory, recompilations after the first step;
- ``data loader``: images/s of the training loader at 2 and 8 workers
  (``tools/benchmark/data_loader.py``) next to the step's;
- ``gloo pair``: two gloo processes on the device, the model wrapped by
  the configs' ``model_wrapper_cfg``: channels-last parameters, no DDP
  stride warning, a non-finite loss on one rank skipped by both without a
  hang.

``--device cpu`` runs every check at tiny sizes (1 stack of 16 features,
small inputs, a few steps; compiled with ``aot_eager``, which traces and
differentiates as inductor does without its C++ build), so that the code
has run before a GPU sees it (``tests/test_tools/test_benchmark/
test_gpu_check.py``). Each check runs in a fresh process. Exit status 1
when a check fails.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional

if not __package__:  # run as a script: import tools.* from the repo root
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
MAIN_JOB = 'configs/ae_hourglass-tiny_1xb4-400e_coco-mini-384x256.py'
PAPER_CONFIG = 'configs/ae_hourglass-4stack_8xb6-300e_coco-512x512.py'
# the tiny model of the CPU mode (as the reliability tests train)
TINY_MODEL = {
    'model.backbone.num_stacks': 1,
    'model.backbone.feat_channels': 16,
    'model.backbone.increase': 8,
    'model.backbone.stem_channels': (8, 16),
}
STRIDE_WARNING = 'Grad strides do not match bucket view strides'
TRAIN_STEP_MODES = ('fp32', 'bf16', 'bf16 + compile')


@dataclass
class Row:
    """One row of the table: ``result`` is ``'pass'``, ``'FAIL'`` or
    ``'not available'``."""

    check: str
    result: str
    numbers: str


def in_fresh_process(name: str, **kwargs):
    """Call this module's function ``name`` with ``kwargs`` in a new Python
    process (not a daemon: the main job starts data loader workers) and
    return what it returns (JSON)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / 'result.json'
        run = subprocess.run(
            [
                sys.executable,
                '-c',
                'import json, sys; from tools.benchmark import gpu_check; '
                'json.dump(getattr(gpu_check, sys.argv[1])'
                '(**json.loads(sys.argv[2])), open(sys.argv[3], "w"))',
                name,
                json.dumps(kwargs),
                str(out),
            ],
            cwd=REPO,
            env={**os.environ, 'PYTHONPATH': str(REPO)},
            capture_output=True,
            text=True,
        )
        if run.returncode != 0:
            tail = (run.stderr.strip().splitlines() or [''])[-1]
            raise RuntimeError(f'{name} exited {run.returncode}: {tail}')
        return json.loads(out.read_text())


def _row(check: str, passed: bool, numbers: str) -> Row:
    return Row(check, 'pass' if passed else 'FAIL', numbers)


def cuda_only_tests(root: Path = REPO) -> List[str]:
    """The pytest ids of the tests marked to skip without CUDA."""
    ids = []
    for path in sorted((root / 'tests').rglob('test_*.py')):
        text = path.read_text()
        for match in re.finditer(
            r"skipif\(not torch\.cuda\.is_available\(\), reason='needs "
            r"CUDA'\)\s*\n(?:@.*\n)*def (test_\w+)",
            text,
        ):
            ids.append(f'{path.relative_to(root)}::{match.group(1)}')
    return ids


def check_cuda_tests(device: str) -> Row:
    """Run the CUDA-only tests: on CUDA all pass, elsewhere all skip."""
    ids = cuda_only_tests()
    out = subprocess.run(
        [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider'] + ids,
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    summary = (out.stdout.strip().splitlines() or [''])[-1]
    counts = {
        word: int(n)
        for n, word in re.findall(r'(\d+) (passed|skipped|failed)', summary)
    }
    expected = 'passed' if device == 'cuda' else 'skipped'
    passed = out.returncode == 0 and counts.get(expected) == len(ids)
    return _row('cuda tests', passed, f'{len(ids)} tests: {summary}')


def _tiny(cpu: bool, options: dict) -> dict:
    return {**TINY_MODEL, **options} if cpu else options


def main_job(device: str, work_dir: str) -> dict:
    """Train the main-job config for 2 epochs and validate after the
    second (on the CPU: the tiny model on 8 images, validated on 2).

    Returns:
        dict: ``losses`` (every iteration's), ``decode_devices`` (where the
        maps that validation decodes lie), ``metrics`` and ``error`` (the
        exception's text, or ``None``)
    """
    from mmengine.config import Config
    from mmengine.model import is_model_wrapper
    from mmengine.runner import Runner

    cpu = device == 'cpu'
    cfg = Config.fromfile(str(REPO / MAIN_JOB))
    cfg.merge_from_dict(
        _tiny(
            cpu,
            {
                'train_cfg.max_epochs': 2,
                'train_cfg.val_interval': 2,
                'default_hooks.logger.interval': 1,
                'default_hooks.checkpoint.interval': 2,
                'train_dataloader.dataset.indices': 8 if cpu else None,
                'val_dataloader.dataset.indices': 2 if cpu else None,
                'train_dataloader.batch_size': 2 if cpu else 4,
            },
        )
    )
    cfg.work_dir = work_dir
    cfg.data_root = str(REPO / cfg.data_root)
    for loader in (cfg.train_dataloader, cfg.val_dataloader):
        loader.dataset.data_root = str(REPO / 'data/coco-mini') + '/'
    cfg.val_evaluator.ann_file = str(REPO / cfg.val_evaluator.ann_file)
    losses, devices, metrics, error = [], set(), {}, None
    try:
        runner = Runner.from_cfg(cfg)
        model = runner.model
        model = model.module if is_model_wrapper(model) else model
        decode = model.head.decode

        def recording_decode(batch_outputs):
            devices.add(str(batch_outputs[0].device))
            return decode(batch_outputs)

        model.head.decode = recording_decode
        runner.train()
        losses = [float(v) for v in runner.message_hub.get_scalar(
            'train/loss'
        )._log_history]  # fmt: skip
        metrics = {
            key: float(value.current())
            for key, value in runner.message_hub.log_scalars.items()
            if key.startswith('val/coco')
        }
    except Exception:  # reported in the table
        error = traceback.format_exc(limit=3)
    return dict(
        losses=losses,
        decode_devices=sorted(devices),
        metrics=metrics,
        error=error,
    )


def check_main_job(device: str) -> Row:
    with tempfile.TemporaryDirectory() as work_dir:
        result = in_fresh_process('main_job', device=device, work_dir=work_dir)
    losses = result['losses']
    if result['error'] is not None:
        last = result['error'].strip().splitlines()[-1]
        return _row('main job, 2 epochs', False, last)
    head, tail = losses[:2], losses[-2:]
    falls = len(losses) >= 4 and sum(tail) < sum(head)
    on_device = result['decode_devices'] == [
        str(torch.device(device, 0) if device == 'cuda' else device)
    ]
    ap = result['metrics'].get('val/coco/AP')
    passed = falls and on_device and ap is not None
    return _row(
        'main job, 2 epochs',
        passed,
        f'loss {sum(head) / 2:.4g} -> {sum(tail) / 2:.4g} over '
        f'{len(losses)} iterations; decoded on '
        f'{",".join(result["decode_devices"]) or "nothing"}; AP {ap}',
    )


def train_step(mode: str, device: str) -> dict:
    """One training-step case of the paper config (on the CPU: the tiny
    model at 128, batch 2).

    Returns:
        dict: ``images_per_s``, ``syncs`` (host synchronisations of one
        step), ``peak_memory_mb``, ``graphs`` (compiled by the end) and
        ``recompiles`` (graphs compiled after the warm-up steps)
    """
    from torch._dynamo.utils import counters

    from aeplugin.testing import count_transfers_and_syncs
    from tools.benchmark import common
    from tools.benchmark import train_step as bench

    cpu = device == 'cpu'
    options = _tiny(cpu, {})
    if mode == 'fp32':
        options['optim_wrapper.type'] = 'OptimWrapper'
    elif cpu:
        options['optim_wrapper.on_cpu'] = True  # bfloat16 on the CPU too
    cfg = bench.load_config(
        REPO / PAPER_CONFIG, 128 if cpu else None, cfg_options=options
    )
    batch_size = 2 if cpu else cfg.train_dataloader.batch_size
    samples = bench.build_samples(cfg, 2 * batch_size)
    batches = [samples[:batch_size], samples[batch_size:]]
    compile = mode == 'bf16 + compile' and ('aot_eager' if cpu else True)
    calls, _ = bench.path_calls(
        cfg, 'ours', batches, torch.device(device), compile
    )
    step = calls['step']
    if not cpu:
        torch.cuda.reset_peak_memory_stats()
    warmup, iters = (1, 2) if cpu else (10 if compile else 5, 20)
    for _ in range(warmup):
        step()
    common.synchronize(device)
    graphs = counters['stats']['unique_graphs']
    timing = common.time_call(step, iters, 0, device)
    recompiles = counters['stats']['unique_graphs'] - graphs
    if cpu:
        with count_transfers_and_syncs('cpu') as counts:
            step()
        syncs = counts.syncs
    else:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            torch.cuda.set_sync_debug_mode('warn')
            try:
                step()
            finally:
                torch.cuda.set_sync_debug_mode('default')
        syncs = sum('synchroniz' in str(w.message) for w in caught)
    common.synchronize(device)
    memory = bench._peak_memory(torch.device(device), 0)['peak_memory_mb']
    return dict(
        images_per_s=batch_size / timing['median_s'],
        syncs=syncs,
        peak_memory_mb=memory,
        graphs=counters['stats']['unique_graphs'],
        recompiles=recompiles,
    )


def check_train_step(mode: str, device: str) -> Row:
    result = in_fresh_process('train_step', mode=mode, device=device)
    compiled = mode.endswith('compile')
    passed = result['recompiles'] == 0 and (result['graphs'] > 0) == compiled
    return _row(
        f'train step {mode}',
        passed,
        f'{result["images_per_s"]:.4g} images/s, {result["syncs"]} host '
        f'syncs/step, peak {result["peak_memory_mb"]:.0f} MB, '
        f'{result["graphs"]} graphs, {result["recompiles"]} recompiles',
    )


def check_data_loader(device: str, step_images_per_s: Optional[float]) -> Row:
    """images/s of the paper config's training loader, from
    ``tools/benchmark/data_loader.py`` (rows of ``pipeline``, ``workers``,
    ``images_per_s``)."""
    script = REPO / 'tools/benchmark/data_loader.py'
    check = 'data loader'
    if not script.exists():
        return Row(check, 'not available', f'no {script.relative_to(REPO)}')
    cpu = device == 'cpu'
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / 'loader.json'
        run = subprocess.run(
            [sys.executable, str(script), PAPER_CONFIG, '--workers']
            + (['2'] if cpu else ['2', '8'])
            + ['--batches', '2' if cpu else '50', '--json', str(out)],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        if run.returncode != 0 or not out.exists():
            tail = (run.stderr.strip().splitlines() or [''])[-1]
            return _row(check, False, f'exit {run.returncode}: {tail}')
        rows = json.loads(out.read_text())
    ours = [r for r in rows if r.get('pipeline') == 'aeplugin']
    numbers = ', '.join(
        f'{r["images_per_s"]:.4g} images/s with {r["workers"]} workers'
        for r in ours
    )
    if step_images_per_s is not None:
        numbers += f'; the bf16 step: {step_images_per_s:.4g} images/s'
    return _row(check, bool(ours), numbers)


WRAPS = ('config', 'convert_after', 'nchw')


def ddp_worker(
    rank: int, init_file: str, device: str, out: str, wrap: str = 'config'
) -> None:
    """Rank ``rank`` of 2 gloo processes: a small conv net made
    channels-last and wrapped in DDP, 3 steps of
    ``FiniteLossOptimWrapper(nonfinite_loss='skip')``, rank 1's second
    batch NaN; writes the channels-last state, the weights after each step
    and the skipped count to ``out`` (a ``torch.save`` file).

    ``wrap='config'``: by the configs' ``model_wrapper_cfg`` (its
    channels-last conversion forced on the CPU); ``'convert_after'``: by
    mmengine's ``MMDistributedDataParallel``, the model converted after it
    (what a ``before_run`` hook does); ``'nchw'``: by the configs' wrapper,
    not converted."""
    import torch.distributed as dist
    from mmengine.config import Config
    from mmengine.logging import MessageHub
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import DefaultScope
    from torch import nn

    from aeplugin.registry import MODEL_WRAPPERS

    if wrap not in WRAPS:
        raise ValueError(f'wrap must be one of {WRAPS}, got {wrap!r}')
    dist.init_process_group(
        'gloo', init_method=f'file://{init_file}', rank=rank, world_size=2
    )
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 4, 3)
    ).to(device)
    runtime = Config.fromfile(str(REPO / 'configs/_base_/default_runtime.py'))
    wrapper_cfg = dict(runtime.model_wrapper_cfg)
    if wrap == 'convert_after':
        wrapper_cfg['type'] = 'mmengine.MMDistributedDataParallel'
    elif wrap == 'nchw':
        wrapper_cfg['channels_last'] = 'never'
    elif device == 'cpu':
        wrapper_cfg['channels_last'] = 'always'
    with DefaultScope.overwrite_default_scope('aeplugin'):
        ddp = MODEL_WRAPPERS.build(
            wrapper_cfg, default_args=dict(module=model)
        )
        if wrap == 'convert_after':
            model.to(memory_format=torch.channels_last)
        optim = build_optim_wrapper(
            ddp.module,
            dict(optimizer=dict(type='SGD', lr=0.1), nonfinite_loss='skip'),
        )
    hub = MessageHub.get_instance(f'gpu-check-{rank}')
    generator = torch.Generator().manual_seed(rank)
    weights = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        for step in range(3):
            x = torch.randn(2, 3, 8, 8, generator=generator)
            if rank == 1 and step == 1:
                x[0, 0, 0, 0] = float('nan')
            x = x.to(device, memory_format=torch.channels_last)
            with optim.optim_context(ddp):
                loss = ddp(x).pow(2).mean()
            optim.update_params(loss)
            weights.append(
                {
                    k: v.detach().cpu().clone()
                    for k, v in model.state_dict().items()
                }
            )
    channels_last = all(
        p.is_contiguous(memory_format=torch.channels_last)
        for p in model.parameters()
        if p.dim() == 4
    )
    torch.save(
        dict(
            channels_last=channels_last,
            warnings=[str(w.message) for w in caught],
            weights=weights,
            skipped=hub.get_info('nonfinite_loss_skipped', 0),
        ),
        out,
    )
    dist.barrier()
    dist.destroy_process_group()


def run_ddp_pair(
    device: str, work_dir: str, wrap: str = 'config', timeout: float = 120
) -> dict:
    """Start the 2 processes of :func:`ddp_worker` and wait for them.

    Returns:
        dict: ``ranks`` (each rank's saved results, or ``None`` for a rank
        that did not finish), ``log`` (their output), ``hung`` (killed
        after ``timeout`` s)
    """
    work = Path(work_dir)
    env = {
        **os.environ,
        'PYTHONPATH': str(REPO),
        'OMP_NUM_THREADS': '1',
    }
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                '-c',
                'import sys; from tools.benchmark.gpu_check import '
                'ddp_worker; ddp_worker(int(sys.argv[1]), *sys.argv[2:])',
                str(rank),
                str(work / 'store'),
                device,
                str(work / f'rank{rank}.pt'),
                wrap,
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for rank in range(2)
    ]
    deadline = time.monotonic() + timeout
    logs, hung = [], False
    for process in processes:
        try:
            logs.append(
                process.communicate(
                    timeout=max(1.0, deadline - time.monotonic())
                )[0]
            )
        except subprocess.TimeoutExpired:
            hung = True
            process.kill()
            logs.append(process.communicate()[0])
    ranks = [
        torch.load(work / f'rank{rank}.pt', weights_only=True)
        if (work / f'rank{rank}.pt').exists()
        else None
        for rank in range(2)
    ]
    return dict(ranks=ranks, log='\n'.join(logs), hung=hung)


def check_gloo_pair(device: str) -> Row:
    with tempfile.TemporaryDirectory() as work_dir:
        result = run_ddp_pair(device, work_dir)
    ranks, check = result['ranks'], 'gloo pair'
    if result['hung'] or None in ranks:
        tail = result['log'].strip().splitlines()[-1:] or ['']
        return _row(
            check, False, ('hung: ' if result['hung'] else '') + tail[0]
        )
    warned = STRIDE_WARNING in result['log'] or any(
        STRIDE_WARNING in w for r in ranks for w in r['warnings']
    )
    skipped = [r['skipped'] for r in ranks]
    # the NaN step left the weights of the step before, on both ranks
    kept = all(
        torch.equal(r['weights'][1][k], r['weights'][0][k])
        for r in ranks
        for k in r['weights'][0]
    )
    alike = all(
        torch.equal(ranks[0]['weights'][-1][k], ranks[1]['weights'][-1][k])
        for k in ranks[0]['weights'][-1]
    )
    channels_last = all(r['channels_last'] for r in ranks)
    passed = (
        channels_last and not warned and skipped == [1, 1] and kept and alike
    )
    return _row(
        check,
        passed,
        f'channels-last parameters: {channels_last}; stride warning: '
        f'{warned}; skipped on ranks: {skipped}; weights kept at the skip: '
        f'{kept}; ranks alike: {alike}',
    )


def run_checks(device: str) -> List[Row]:
    """Every check, in the order of the table."""
    rows = [
        _guarded('cuda tests', check_cuda_tests, device),
        _guarded('main job, 2 epochs', check_main_job, device),
    ]
    step_speed = None
    for mode in TRAIN_STEP_MODES:
        rows.append(
            _guarded(f'train step {mode}', check_train_step, mode, device)
        )
        if mode == 'bf16' and rows[-1].result == 'pass':
            step_speed = float(rows[-1].numbers.split(' ', 1)[0])
    rows.append(_guarded('data loader', check_data_loader, device, step_speed))
    rows.append(_guarded('gloo pair', check_gloo_pair, device))
    return rows


def _guarded(check: str, function: Callable, *args) -> Row:
    try:
        return function(*args)
    except Exception as error:  # one failed check does not stop the rest
        return Row(check, 'FAIL', f'{type(error).__name__}: {error}')


def format_rows(rows: List[Row]) -> str:
    """The markdown table."""
    lines = ['| check | result | numbers |', '| --- | --- | --- |']
    lines += [f'| {r.check} | {r.result} | {r.numbers} |' for r in rows]
    return '\n'.join(lines)


def main(argv=None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--device', default='cuda' if torch.cuda.is_available() else 'cpu'
    )
    parser.add_argument('--out', help='also write the table to this file')
    args = parser.parse_args(argv)
    device = torch.device(args.device).type
    table = format_rows(run_checks(device))
    print(table)
    if args.out:
        Path(args.out).write_text(table + '\n')
    return 1 if '| FAIL |' in table else 0


if __name__ == '__main__':
    sys.exit(main())
