"""Training commands: ``python -m generation.training.autoencoder`` and ``... .ldm``.

Both expose ``main(argv) -> exit status`` for thin wrappers (``manage.py train``) and run
unchanged on CPU, one GPU, or several GPUs under ``torchrun`` (DDP).
"""
