"""On-device training under 256 KB: MCU backbones (``arch``, ``nets``), the int8 graph (``quant``),
QAS (``qas``), sparse update and its search (``sparse``), the memory model (``memory``), offline
data (``data``), training loops (``train``), the cached pretrained backbone (``pretrained``) and the
notebook's experiments (``study``)."""
