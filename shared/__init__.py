"""seqapps shared library: text, embeddings, training, export and data helpers.

Every app under ``apps/`` builds on these modules so that tokenisation, the word2vec
embedding, the training loop conventions and the export layout are the same everywhere.
"""

__version__ = "0.1.0"

import os as _os

# TensorFlow's C++ INFO/WARNING chatter (oneDNN, missing CUDA on CPU machines) drowns the
# output users came for; errors still show. A value set by the user wins.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
