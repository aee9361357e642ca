"""What a person looks at after training: captions beside their references, attention maps."""

import csv
from pathlib import Path

import numpy as np


def write_captions(path, images, generated, baseline):
    """``test_captions.tsv``: image, generated caption, nearest-neighbour caption, first reference."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
        writer.writerow(["image", "generated", "nearest_neighbour", "reference_0"])
        for image, words, neighbour in zip(images, generated, baseline):
            writer.writerow([image.name, " ".join(words), " ".join(neighbour), image.captions[0]])
    return path


def plot_attention(path, pictures, captions, weights, *, max_words=10):
    """One row per image: the image, then where the decoder looked for each generated word.

    ``weights[i]`` is ``[words, cells]`` for image i; the grid is square (cells = side²).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = 1 + min(max_words, max(len(words) for words in captions) + 1)
    figure, axes = plt.subplots(len(pictures), columns, figsize=(1.6 * columns, 1.8 * len(pictures)), squeeze=False)
    for row, (picture, words, attention) in enumerate(zip(pictures, captions, weights)):
        side = int(round(np.sqrt(attention.shape[-1])))
        axes[row, 0].imshow(picture)
        axes[row, 0].set_title("image", fontsize=8)
        for column, word in enumerate((words + ["[EOS]"])[: columns - 1], start=1):
            grid = attention[column - 1].reshape(side, side)
            axes[row, column].imshow(picture)
            axes[row, column].imshow(grid, cmap="magma", alpha=0.6, interpolation="bilinear",
                                     extent=(0, picture.shape[1], picture.shape[0], 0))
            axes[row, column].set_title(word, fontsize=8)
        for axis in axes[row]:
            axis.axis("off")
    figure.tight_layout()
    figure.savefig(Path(path), dpi=80)
    plt.close(figure)
    return path
