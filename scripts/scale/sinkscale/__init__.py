"""sinkscale: sinktrain's training recipe on PyTorch + transformers + accelerate.

Only `train` and `torchmodel` import torch; every other module is stdlib-only
(numpy and pyarrow are imported lazily where shards are read), so the config,
the sampler and the run-directory writer work and are tested without torch.
"""
