"""On-device training under 256 KB: MCU backbones (``arch``, ``nets``), the int8 operators
(``int8ops``) and graph (``quant``), QAS (``qas``), sparse update and its search (``sparse``), the
memory model (``memory``), offline data with a sealed test split (``data``) and the training loops
(``train``). The study built on them is :mod:`archlab.studies.ondevice`."""
