"""Chest X-ray any-to-any generation (MedCoDi-M): frontal, lateral and report.

Parts, each in its own small module:

- :mod:`.encoders`      shared latent space: one image encoder for both views, a text head over a
                        frozen sentence encoder's token states (MedCoDi-M §2.1 / §3.2.1);
- :mod:`.contrastive`   symmetric InfoNCE with a learnable temperature;
- :mod:`.conditioning`  multi-prompt training: random non-empty input subsets, linear combination
                        of their shared-space embeddings (§2.2);
- :mod:`.report_decoder` conditional GRU report decoder over the phantom-corpus vocabulary;
- :mod:`.joint`         joint generation of two views with latent cross-attention coupling (§2.3);
- :mod:`.pipeline`      the diffusers-style pipeline (injected parts, numbered steps);
- :mod:`.loading` / :mod:`.api`  preset -> pipeline, request -> result;
- :mod:`.preprocess`    real DICOM CXR -> model input (§3.1);
- :mod:`.training`      ``python -m generation.cxr.training STAGE ...``.

Like the rest of :mod:`generation` this package never imports Django, ``webapp`` or ``turing_test``.
"""
