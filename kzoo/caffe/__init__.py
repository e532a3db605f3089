"""The Caffe bridge: Caffe's network definitions and weights in (``kzoo import caffe``) and out (``kzoo export caffe``).

Caffe's files are read and written with the protobuf package through a message schema of kzoo's
own (:mod:`kzoo.caffe.schema`); no Caffe installation is needed. The zoo files that have a Caffe
release declare it in their YAML (``weights: {caffe: ...}``, :mod:`kzoo.caffe.declaration`).
:func:`kzoo.caffe.bridge.import_caffe` and :func:`kzoo.caffe.bridge.export_caffe` are the two jobs.
"""
