"""What a person looks at after training: translations beside their references, attention heatmaps."""

import csv
from pathlib import Path

import numpy as np


def write_translations(path, pairs, translations):
    """``test_translations.tsv``: source, reference, and each decoder's translation."""
    names = list(translations)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["source", "reference", *names])
        for index, pair in enumerate(pairs):
            writer.writerow([pair.source, pair.target, *(translations[name][index] for name in names)])
    return path


def plot_attention(path, sources, outputs, weights):
    """One heatmap per sentence: output tokens (rows) against source tokens (columns).

    ``weights[i]`` is ``[output steps, source positions]``; steps past the output tokens
    and positions past the source tokens (padding) are cut off.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = len(sources)
    columns = 2 if count > 1 else 1
    rows = (count + columns - 1) // columns
    width = max(len(tokens) for tokens in sources)
    height = max(len(tokens) for tokens in outputs)
    figure, axes = plt.subplots(rows, columns, squeeze=False,
                                figsize=(columns * (1.2 + 0.45 * width), rows * (1.0 + 0.4 * height)))
    for axis, source, output, attention in zip(axes.flat, sources, outputs, weights):
        grid = np.asarray(attention)[: len(output), : len(source)]
        axis.imshow(grid, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
        axis.set_xticks(range(len(source)), source, rotation=70, fontsize=8)
        axis.set_yticks(range(len(output)), output, fontsize=8)
        axis.tick_params(length=0)
    for axis in list(axes.flat)[count:]:
        axis.axis("off")
    figure.tight_layout()
    figure.savefig(Path(path), dpi=80)
    plt.close(figure)
    return path
