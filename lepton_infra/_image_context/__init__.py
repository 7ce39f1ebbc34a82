"""The serving image's build context as installed: holds ``serving/`` (its Dockerfile and sources) as package data.

pyproject.toml maps ``lepton_infra._image_context.serving`` to the repository's serving/, so a wheel carries it here
and a checkout resolves the same name to serving/ itself (components/kubernetes/serving_image.py:packaged_context).
"""
