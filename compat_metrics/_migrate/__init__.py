"""``compat-metrics migrate``: find TF1/early-TF2 loss and metric patterns and rewrite them.

The engine (:mod:`._engine`) works on a LibCST concrete syntax tree, so
comments and formatting survive a rewrite. It needs the ``migrate`` extra
(``pip install compat_metrics[migrate]``); nothing here imports TensorFlow.
"""
