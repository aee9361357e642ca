"""Length-bucketed id pipelines: every sequence arrives once, intact, with little padding."""

import time

import numpy as np

from shared.pipeline import sequence_dataset


def random_sequences(count, seed=0):
    rng = np.random.default_rng(seed)
    return [list(rng.integers(1, 1000, size=rng.integers(0, 400))) for _ in range(count)]


def test_every_sequence_arrives_once_and_intact():
    sequences = random_sequences(3000)
    targets = list(range(3000))
    batches = list(sequence_dataset(sequences, targets, batch_size=32, shuffle=True, seed=1))
    seen = {}
    for ids, target in batches:
        assert ids.dtype == "int32" and ids.shape[1] >= 1
        for row, t in zip(ids.numpy(), target.numpy()):
            seen[int(t)] = [int(v) for v in row[: len(sequences[t])]]
            assert not row[len(sequences[t]):].any(), "padding must be zeros"
    assert seen == {t: [int(v) for v in s] for t, s in enumerate(sequences)}


def test_buckets_cut_padding_and_order_is_seeded():
    sequences, targets = random_sequences(3000), [0] * 3000
    def padding(batches):
        return sum(int(ids.shape[0] * ids.shape[1]) for ids, _ in batches) / sum(len(s) or 1 for s in sequences)
    bucketed = list(sequence_dataset(sequences, targets, batch_size=32))
    plain = list(sequence_dataset(sequences, targets, batch_size=32, buckets=False))
    assert padding(bucketed) < 1.2 < padding(plain)
    first = [b.numpy().tolist() for b, _ in sequence_dataset(sequences, targets, batch_size=32, shuffle=True, seed=7)]
    again = [b.numpy().tolist() for b, _ in sequence_dataset(sequences, targets, batch_size=32, shuffle=True, seed=7)]
    assert first == again


def test_drop_remainder_keeps_batches_full():
    batches = list(sequence_dataset(random_sequences(1000), [0] * 1000, batch_size=32, drop_remainder=True))
    assert batches and all(ids.shape[0] == 32 for ids, _ in batches)


def test_building_a_large_pipeline_is_fast():
    sequences = random_sequences(20000)
    started = time.perf_counter()
    sequence_dataset(sequences, [0] * len(sequences), batch_size=32, shuffle=True)
    assert time.perf_counter() - started < 10, "building the pipeline must not walk Python lists per element"
