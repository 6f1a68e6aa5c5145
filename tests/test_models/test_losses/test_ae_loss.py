import math

import pytest
import torch

from aeplugin.models.losses import AELoss
from aeplugin.testing import count_transfers_and_syncs, reference_ae_loss


def _tags_from_values(values, K, H=2, W=2):
    """A (1, K, H, W) tag map whose flat entry [k, p] is values[k][p]."""
    return torch.tensor(values, dtype=torch.float64).view(1, K, H, W)


def _random_case(seed, people=(0, 1, 4), K=5, L=2, H=8, W=8):
    g = torch.Generator().manual_seed(seed)
    B = len(people)
    tags = torch.randn(B, L * K, H, W, generator=g, dtype=torch.float64)
    indices = []
    for n in people:
        idx = torch.randint(0, H * W, (n, K, 1), generator=g)
        vis = torch.randint(0, 2, (n, K, 1), generator=g)
        indices.append(torch.cat([idx, vis], dim=-1))
    return tags, indices


def test_hand_computed_two_people():
    # keypoint 0: flat tags [1, 5, 0, 9]; keypoint 1: [7, 3, 8, 8]
    tags = _tags_from_values([[1.0, 5.0, 0.0, 9.0], [7.0, 3.0, 8.0, 8.0]], K=2)
    indices = [
        torch.tensor(
            [
                [[0, 1], [1, 1]],  # person A: tags 1 and 3 -> mean 2, pull 1
                [[2, 1], [3, 0]],  # person B: tag 0 only -> mean 0, pull 0
            ]
        )
    ]
    pull, push = AELoss(loss_weight=1.0, push_loss_factor=0.5)(tags, indices)
    assert pull.item() == pytest.approx(0.5)
    assert push.item() == pytest.approx(0.5 * math.exp(-4.0))


def test_hand_computed_three_people_and_batch_average():
    tags = torch.zeros(2, 1, 1, 3, dtype=torch.float64)
    tags[0, 0, 0] = torch.tensor([0.0, 1.0, 3.0])
    one_each = torch.tensor([[[0, 1]], [[1, 1]], [[2, 1]]])
    nobody = torch.zeros((0, 1, 2), dtype=torch.long)
    pull, push = AELoss(loss_weight=2.0, push_loss_factor=1.0)(
        tags, [one_each, nobody]
    )
    # means 0, 1, 3: ordered pairs give 2 * (e^-1 + e^-9 + e^-4) over 6
    # pairs; the empty second image halves the batch mean
    expected_push = (math.exp(-1) + math.exp(-9) + math.exp(-4)) / 3
    assert pull.item() == 0.0
    assert push.item() == pytest.approx(2.0 * expected_push / 2)


def test_max_push_hand_computed():
    tags = torch.tensor([0.0, 0.25, 3.0], dtype=torch.float64).view(1, 1, 1, 3)
    indices = [torch.tensor([[[0, 1]], [[1, 1]], [[2, 1]]])]
    _, push = AELoss(push_loss_factor=1.0, push_type='max')(tags, indices)
    # only the pair (0, 0.25) is closer than 1: 2 * 0.75 over 6 pairs
    assert push.item() == pytest.approx(0.25)


@pytest.mark.parametrize('push_type', ['exp', 'max'])
def test_matches_reference_loop(push_type):
    tags, indices = _random_case(seed=0)
    pull, push = AELoss(push_loss_factor=1.0, push_type=push_type)(
        tags, indices
    )
    ref_pull, ref_push = reference_ae_loss(tags, indices, push_type)
    torch.testing.assert_close(pull, ref_pull, rtol=0, atol=1e-12)
    torch.testing.assert_close(push, ref_push, rtol=0, atol=1e-12)


def test_agrees_with_mmpose_up_to_its_documented_differences():
    from mmpose.models.losses import AssociativeEmbeddingLoss

    tags, indices = _random_case(seed=1, people=(4,), L=1)
    n = len(indices[0])
    ours = AELoss()(tags, indices)
    theirs = AssociativeEmbeddingLoss()(tags, indices)
    # mmpose divides by N + 1e-6
    torch.testing.assert_close(ours[0], theirs[0], atol=1e-6, rtol=0)
    # mmpose adds the N self-pairs exp(0) = 1 to the push sum
    torch.testing.assert_close(
        ours[1], theirs[1] - 0.5 * n / (n * (n - 1) + 1e-6), atol=1e-6, rtol=0
    )


def _two_dimensional_case():
    """Two people with K=2 keypoints and L=2 tags (channel l*K + k) on a 2x1
    map: A at position 0 with tags (0, 0) and (2, 0), mean (1, 0); B at
    position 1 with (1, 3) and (1, 1), mean (1, 2)."""
    tags = torch.tensor(
        [[0.0, 1.0], [2.0, 1.0], [0.0, 3.0], [0.0, 1.0]], dtype=torch.float64
    ).view(1, 4, 1, 2)
    indices = [torch.tensor([[[0, 1], [0, 1]], [[1, 1], [1, 1]]])]
    return tags, indices


def test_two_dimensional_tags_hand_computed():
    tags, indices = _two_dimensional_case()
    # every keypoint is 1 away from its mean (squared Euclidean), 1 / 2 per
    # dimension; the means differ by (0, 2)
    pull, push = AELoss()(tags, indices)
    assert pull.item() == pytest.approx(1.0)
    assert push.item() == pytest.approx(0.5 * math.exp(-4.0))
    pull, push = AELoss(tag_distance='per_dim')(tags, indices)
    assert pull.item() == pytest.approx(0.5)
    assert push.item() == pytest.approx(0.5 * (math.exp(0.0) + math.exp(-4)))


def test_per_dim_agrees_with_mmpose_for_two_dimensional_tags():
    """Up to the two documented differences: N * L self-pairs in mmpose's
    push sum, and its sum over the images of the batch."""
    from mmpose.models.losses import AssociativeEmbeddingLoss

    L = 2
    tags, indices = _random_case(seed=4, people=(4, 3, 0), L=L)
    ours = AELoss(tag_distance='per_dim')(tags, indices)
    theirs_pull = theirs_push = 0.0
    for image_tags, idx in zip(tags, indices):
        pull, push = AssociativeEmbeddingLoss()(image_tags[None], [idx])
        n = int((idx[..., 1] > 0).any(-1).sum())
        theirs_pull += pull
        if n > 1:
            theirs_push += push - 0.5 * n * L / (n * (n - 1) + 1e-6)
    torch.testing.assert_close(ours[0], theirs_pull / 3, atol=1e-6, rtol=0)
    torch.testing.assert_close(ours[1], theirs_push / 3, atol=1e-6, rtol=0)
    # the Euclidean default sums the L squared differences of the pull
    euclidean = AELoss()(tags, indices)
    torch.testing.assert_close(euclidean[0], L * ours[0], atol=0, rtol=1e-12)
    assert abs(euclidean[1] - ours[1]) > 0.1


def test_gradcheck():
    tags, indices = _random_case(seed=2, people=(3, 2), K=3, H=3, W=3)
    loss = AELoss(push_loss_factor=1.0)
    tags.requires_grad_(True)
    assert torch.autograd.gradcheck(
        lambda t: sum(loss(t, indices)), (tags,), eps=1e-6, atol=1e-5
    )


@pytest.mark.parametrize('people', [0, 1])
def test_finite_for_zero_and_one_person(people):
    tags = torch.randn(1, 4, 4, 4, requires_grad=True)
    indices = [
        torch.tensor(
            [[[1, 1], [5, 1], [6, 0], [9, 1]]] * people, dtype=torch.long
        ).view(people, 4, 2)
    ]
    pull, push = AELoss()(tags, indices)
    (pull + push).backward()
    assert push.item() == 0.0
    assert torch.isfinite(tags.grad).all()
    assert (pull.item() > 0) == (people == 1)


def test_identical_tags_give_finite_max_push_gradient():
    tags = torch.zeros(1, 1, 1, 2, requires_grad=True)
    indices = [torch.tensor([[[0, 1]], [[1, 1]]])]
    _, push = AELoss(push_type='max')(tags, indices)
    push.backward()
    assert push.item() == pytest.approx(0.5, abs=1e-5)
    assert torch.isfinite(tags.grad).all()


def test_clear_errors():
    loss = AELoss()
    tags = torch.zeros(1, 4, 2, 2)
    with pytest.raises(
        ValueError,
        match='keypoint 0 of person 0 at position 4, outside the 2x2 map',
    ):
        loss(tags, [torch.tensor([[[4, 1], [0, 0], [0, 0], [0, 0]]])])
    with pytest.raises(ValueError, match='holds 2 images but tags hold 1'):
        loss(tags, [torch.zeros(0, 4, 2)] * 2)
    with pytest.raises(ValueError, match='not a multiple of K=3'):
        loss(tags, [torch.zeros(1, 3, 2, dtype=torch.long)])
    with pytest.raises(ValueError, match='push_type'):
        AELoss(push_type='linear')
    with pytest.raises(ValueError, match='tag_distance'):
        AELoss(tag_distance='mean')
    with pytest.raises(ValueError, match="tag_distance='euclidean'"):
        AELoss(push_type='max', tag_distance='per_dim')


@pytest.mark.parametrize('dtype', [torch.float16, torch.bfloat16])
def test_half_precision_tags_give_float32_losses(dtype):
    # --amp feeds half tags; the accumulators must not mix dtypes
    tags, indices = _random_case(seed=3)
    ref_pull, ref_push = AELoss()(tags.float(), indices)
    pull, push = AELoss()(tags.to(dtype), indices)
    assert pull.dtype == push.dtype == torch.float32
    torch.testing.assert_close(pull, ref_pull, rtol=2e-2, atol=1e-4)
    torch.testing.assert_close(push, ref_push, rtol=2e-2, atol=1e-4)


@pytest.mark.parametrize(
    'push_type, tag_distance',
    [('exp', 'euclidean'), ('max', 'euclidean'), ('exp', 'per_dim')],
)
def test_padded_indices_equal_the_per_image_list(push_type, tag_distance):
    """(B, N, K, 2) indices, the people of each image padded with
    unlabelled ones (as bottomup_collate pads them), give the losses and
    gradients of the per-image list, without a host synchronisation."""
    tags, indices = _random_case(3, people=(0, 1, 4))
    padded = torch.zeros(3, 6, 5, 2, dtype=torch.int64)
    for i, idx in enumerate(indices):
        padded[i, : len(idx)] = idx
    loss = AELoss(push_type=push_type, tag_distance=tag_distance)
    listed = tags.clone().requires_grad_()
    batched = tags.clone().requires_grad_()
    expected = loss(listed, indices)
    with count_transfers_and_syncs() as counts:
        got = loss(batched, padded)
    assert counts.syncs == 0, counts.sync_ops
    for a, b in zip(got, expected):
        assert b > 0
        torch.testing.assert_close(a, b, rtol=1e-12, atol=0)
    sum(expected).backward()
    sum(got).backward()
    torch.testing.assert_close(batched.grad, listed.grad, rtol=1e-12, atol=0)
