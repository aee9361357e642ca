"""seqapps shared library: text, embeddings, training, export and data helpers.

Every app under ``apps/`` builds on these modules so that tokenisation, the word2vec
embedding, the training loop conventions and the export layout are the same everywhere.
"""

__version__ = "0.1.0"
